"""Publishing a release: the datasheet (``report``), attribute statistics (``stat``), ``release.json`` and its check
(``verify``), and the small real corpus the quickstart builds (``sample_corpus``). These read what the stages wrote
(manifests, attributes); they import no stage.
"""
