from synthir.workflow.track import cell_id, redact, run_name


def test_redact_hides_credentials_only():
    assert redact("https://user:secret@mlflow.example.org/x") == "https://***@mlflow.example.org/x"
    assert redact("sqlite:///mlflow.db") == "sqlite:///mlflow.db"
    assert redact("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_cell_id_uses_the_path_grammar_order():
    w = {"seed": "0", "base": "b", "scale": "10", "draw": "1", "strategy": "qgen", "augmenter": "a", "dataset": "d",
         "eval": "e"}
    assert cell_id(w) == "dataset~d/augmenter~a/strategy~qgen/draw~1/scale~10/base~b/seed~0"


def test_run_names_are_short_and_say_the_cell():
    w = {"dataset": "scifact", "augmenter": "smollm2-135m", "strategy": "qgen", "draw": "0", "scale": "800",
         "base": "minilm-l6", "seed": "0"}
    assert run_name(w) == "smollm2-135m · qgen · 800 · minilm-l6 · draw 0 · seed 0"
    assert run_name({**w, "augmenter": "none", "strategy": "human"}) == "human · 800 · minilm-l6 · draw 0 · seed 0"
    assert run_name({**w, "scale": "0", "base": "bm25"}) == "untouched bm25"
