from geoapp.cli import app

app()
