"""The web map's server side: its configuration (basemaps, vocabulary styles) and the folium HTML export.

The live page itself is static/ (Leaflet from npm, served by geoapp); it reads the data from the layers API.
"""
