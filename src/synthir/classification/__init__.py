"""Text classification, the second task of the study (SynthesizRR, arXiv 2405.10040).

A data set with ``task: classification`` runs through the same DAG as a retrieval corpus: the
same wildcards (augmenter, strategy, scale, base, seed), the same cached generation engine
(synthir.generation.engine), the same sidecars, lineage, DVC stages and MLflow runs. What differs lives
here: labelled data (:mod:`.data`), the ``fewgen`` and ``synthesizrr`` strategies
(:mod:`.generate`), label-balanced nested sets and the gold arm (:mod:`.sets`), student
classifiers (:mod:`.students`), the paper's diversity and fidelity metrics (:mod:`.stats`) and
the report with its claims (:mod:`.report`).
"""
