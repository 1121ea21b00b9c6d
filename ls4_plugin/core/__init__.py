"""The LS4 pipeline, free of QGIS: GDAL, boto3, psycopg2, mappyfile and jinja2 only."""
