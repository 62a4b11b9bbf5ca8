"""divertimento models: the shipped models, by name, with their family and what they are for."""

def add_arguments(p) -> None:
    pass


def run(args) -> int:
    from ..models.factory import DEFAULT_MODEL, FAMILIES, SHIPPED
    from ..models.files import read_file

    print(f"{'NAME':8s} {'FAMILY':6s} {'STEPS':>6s}  ABOUT  (--model takes a NAME, a model file, a checkpoint or "
          "a run dir)")
    for name, (path, about) in SHIPPED.items():
        if not path.is_file():
            print(f"{name:8s} (missing from this installation)")
            continue
        header, _ = read_file(path)
        default = "  [default]" if name == DEFAULT_MODEL else ""
        print(f"{name:8s} {header['family']:6s} {header.get('step', '?'):>6}  {about}{default}")
    print("Families `train --config` trains (its family key):")
    for fam in FAMILIES.values():
        print(f"  {fam.name}: {fam.summary}")
    return 0
