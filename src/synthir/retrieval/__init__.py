"""The retrieval task: data sets and formats, BM25 and dense encoders, the retrieval strategy
kinds, training subsets and negatives, training, evaluation, training-set quality and the
study's reports, with one module per paper's claims."""
