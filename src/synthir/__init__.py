"""synthir: reproducible studies of LLM-based data augmentation for dense retrieval."""

__version__ = "0.1.0"
