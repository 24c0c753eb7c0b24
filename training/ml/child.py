"""Run one pickled call in this fresh process and pickle its result (runtime_gate.in_child).
Usage: python -m training.ml.child IN.pickle OUT.pickle"""

import pickle
import sys
from pathlib import Path


def main(request: str, answer: str) -> None:
    fn, args, kwargs = pickle.loads(Path(request).read_bytes())
    result = fn(*args, **kwargs)
    Path(answer).write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    main(*sys.argv[1:])
