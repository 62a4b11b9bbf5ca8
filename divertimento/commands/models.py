"""divertimento models: the shipped models, by name: family, what each is, how to train it again, its headline
figures."""


def add_arguments(p) -> None:
    pass


def run(args) -> int:
    from ..models.factory import DEFAULT_MODEL, FAMILIES, SHIPPED, STUDIO_MODEL
    from ..models.files import read_file

    print("Shipped models (--model takes a NAME, a model file, a checkpoint or a run dir):")
    for name, s in SHIPPED.items():
        if not s.path.is_file():
            print(f"{name}: missing from this installation ({s.path.name})")
            continue
        header, _ = read_file(s.path)
        roles = [r for r, on in (("default of generate, demo, evaluate", name == DEFAULT_MODEL),
                                 ("the studio's", name == STUDIO_MODEL)) if on]
        print(f"\n{name}  [{header['family']}, step {header.get('step', '?')}]" +
              (f"  {'; '.join(roles)}" if roles else ""))
        print(f"  {s.about}")
        print(f"  trained by: divertimento {s.trained}")
        print(f"  figures: {s.figures}")
    print("\nFamilies `train --config` trains (its family key):")
    for fam in FAMILIES.values():
        print(f"  {fam.name}: {fam.summary}")
    return 0
