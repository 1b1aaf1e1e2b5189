"""A literate-programming site generator for annotated Python packages.

The pipeline runs one way: parse -> translate -> markdown+math -> highlight -> page -> write.
`site_builder.build.build_site` is the whole pipeline and reads as its table of contents.
"""

__version__ = "0.1.0"
