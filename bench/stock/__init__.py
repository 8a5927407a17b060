"""A bare Django project with only contrib apps, serving the floor page as stock Django would:
the stock floor that bench/baseline.py measures our floor against."""
