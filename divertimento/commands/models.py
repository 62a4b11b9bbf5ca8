"""divertimento models: the shipped models, one line each (name first, so scripts can read the names), with how
each was trained and its headline figures underneath."""


def add_arguments(p) -> None:
    pass


def run(args) -> int:
    from ..models.factory import DEFAULT_MODEL, FAMILIES, SHIPPED, STUDIO_MODEL
    from ..models.files import read_file

    print(f"{'NAME':16s} {'FAMILY':6s} {'STEPS':>6s}  ABOUT  (--model takes a NAME, a model file, a checkpoint or "
          "a run dir)")
    for name, s in SHIPPED.items():
        if not s.path.is_file():
            print(f"{name:16s} (missing from this installation)")
            continue
        header, _ = read_file(s.path)
        roles = [r for r, on in (("default", name == DEFAULT_MODEL), ("studio", name == STUDIO_MODEL)) if on]
        tag = f"  [{', '.join(roles)}]" if roles else ""
        print(f"{name:16s} {header['family']:6s} {header.get('step', '?'):>6}  {s.about}{tag}")
        print(f"                 Trained by: divertimento {s.trained}")
        print(f"                 Figures: {s.figures}")
        if header.get("strains"):
            print(f"                 Strains: {_strains_line(header['strains'])}")
    print("Families `train --config` trains (its family key):")
    for fam in FAMILIES.values():
        print(f"  {fam.name}: {fam.summary}")
    print("  strains: a trained sequence model's reels and jigs drawn as K candidate strains in forms by the data's "
          "shares, one kept by a fitted critic (no training steps; configs/strains.json)")
    return 0


def _strains_line(strains: dict) -> str:
    """Which styles and meters a file's strains are chosen in, and how."""
    rows = "; ".join(f"{style} {', '.join(meters)}" for style, meters in strains.get("rows", {}).items())
    return f"{rows} (K = {strains.get('candidates')}, beta {strains.get('beta')}, by the {strains.get('rerank')})"
