"""Style shares corrected for the style classifier's known errors (``style/shares/adjusted/*``)."""

import numpy as np


def adjusted_shares(votes: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """The class mix q that best explains the classifier's vote shares ``votes`` given its confusion C (rows: true
    class -> predicted): argmin ||C^T q - votes|| over the simplex (adjusted classify-and-count, Forman 2008).
    A classifier that mistakes 10 % of bach for palestrina would otherwise make every model look short of bach."""
    # Imported here: scipy.optimize takes about 1 s to import and only style/shares with a confusion matrix needs it.
    from scipy.optimize import nnls

    votes = np.asarray(votes, dtype=np.float64)
    weight = 100.0  # the sum-to-one row, weighted so that it holds to ~1e-4
    A = np.vstack([np.asarray(confusion, dtype=np.float64).T, np.full((1, len(votes)), weight)])
    q, _ = nnls(A, np.concatenate([votes, [weight]]))
    return q / q.sum() if q.sum() > 0 else q
