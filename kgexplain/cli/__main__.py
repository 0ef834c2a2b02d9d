"""``python -m kgexplain.cli``: the same as the ``kgexplain`` command."""

from . import main

__all__: list[str] = []

if __name__ == "__main__":
    main()
