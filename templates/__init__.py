"""lipgen's Jinja2 templates (job scripts, solver settings files), installed as the package `lipgen.templates`.

Copy one, edit it, and pass it with `lipgen jobs --template FILE`; the variables each receives are listed
in the README ("Template variables").
"""
