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
    print("Families `train --config` trains (its family key):")
    for fam in FAMILIES.values():
        print(f"  {fam.name}: {fam.summary}")
    return 0
