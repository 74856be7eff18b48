"""``python -m nursecase`` runs the command line."""

from nursecase.cli import main

if __name__ == "__main__":
    main()
