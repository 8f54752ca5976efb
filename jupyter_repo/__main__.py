"""Allow ``python -m jupyter_repo``."""

from jupyter_repo.app import main

main()
