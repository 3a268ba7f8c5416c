"""Demo data for every app: `manage.py seed_demo`. It sits above the domain apps and
nothing imports it; production needs it only to load a demo."""
