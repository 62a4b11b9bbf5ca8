"""Set-level statistics: KDE overlap/KL, distances, Frechet distance, precision/recall/density/coverage, NDB/JSD.

Pure numpy/scipy functions on arrays; the metric modules (``quality.py``, ``diversity.py``, ``novelty.py``) decide
what goes in. scipy is imported inside the functions that use it: scipy.signal and scipy.stats take about 2 s
each to import, which every importer of the metrics package would pay.
"""

import numpy as np

KDE_GRID = 1024  # evaluation points of the binned Gaussian KDE


def scott_bandwidth(x: np.ndarray) -> float:
    """Scott's rule h = sigma n^(-1/5) (what scipy.stats.gaussian_kde uses in 1-D)."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return 0.0
    return float(np.std(x, ddof=1) * len(x) ** (-1 / 5))


def kde_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian KDEs of two 1-D samples on one shared grid: (grid [G], density_a [G], density_b [G]).

    Each sample keeps its own Scott bandwidth, as in MGEval. The densities are computed by linear binning onto the
    grid and convolving with the Gaussian kernel (exact up to the grid spacing, O(n + G log G) rather than
    O(n G)). A sample with no spread (all values equal) gets the bandwidth of the grid spacing, i.e. a spike."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ha, hb = scott_bandwidth(a), scott_bandwidth(b)
    lo = min(a.min(), b.min())
    hi = max(a.max(), b.max())
    pad = 4 * max(ha, hb, 1e-9)
    span = max(hi - lo, 1e-9)
    grid = np.linspace(lo - pad - 0.05 * span, hi + pad + 0.05 * span, KDE_GRID)
    dx = grid[1] - grid[0]

    def density(x, h):
        h = max(h, dx)
        pos = (x - grid[0]) / dx
        i = np.clip(np.floor(pos).astype(np.int64), 0, KDE_GRID - 2)
        f = np.clip(pos - i, 0, 1)
        counts = np.bincount(i, weights=1 - f, minlength=KDE_GRID) + np.bincount(i + 1, weights=f, minlength=KDE_GRID)
        half = int(min(np.ceil(5 * h / dx), KDE_GRID - 1))
        k = np.exp(-0.5 * (np.arange(-half, half + 1) * dx / h) ** 2)
        from scipy.signal import fftconvolve

        d = fftconvolve(counts, k / (np.sqrt(2 * np.pi) * h), mode="same")[:KDE_GRID] / len(x)
        d = np.maximum(d, 0)
        area = d.sum() * dx
        return d / area if area > 0 else d

    return grid, density(a, ha), density(b, hb)


def overlap_area(p: np.ndarray, q: np.ndarray, grid: np.ndarray) -> float:
    """OA = integral of min(p, q): 1 for identical densities, 0 for disjoint ones (Yang & Lerch 2020)."""
    return float(np.minimum(p, q).sum() * (grid[1] - grid[0]))


def kl_divergence(p: np.ndarray, q: np.ndarray, grid: np.ndarray, eps: float = 1e-10) -> float:
    """KL(p || q) = integral p log(p / q) in nats, with q floored at ``eps`` (MGEval floors the same way) so a
    q that is zero where p is not gives a large finite number instead of infinity."""
    dx = grid[1] - grid[0]
    p = p * dx
    q = np.maximum(q * dx, eps)
    m = p > 0
    return float(np.sum(p[m] * np.log(p[m] / q[m])))


def sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances [len(a), len(b)] (float64, clipped at 0)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0)


def kth_neighbour_distance(x: np.ndarray, k: int, chunk: int | None = None) -> np.ndarray:
    """[N] distance of each point to its k-th nearest *other* point of the same set."""
    n = len(x)
    if n <= k:
        return np.full(n, np.inf)
    chunk = chunk or _rows_per_chunk(n)
    out = np.empty(n)
    for s in range(0, n, chunk):
        d = sq_dists(x[s : s + chunk], x)
        d[np.arange(len(d)), np.arange(s, s + len(d))] = np.inf  # not itself
        out[s : s + chunk] = np.sqrt(np.partition(d, k - 1, axis=1)[:, k - 1])
    return out


def _rows_per_chunk(n_cols: int, budget: int = 4_000_000) -> int:
    """Rows of a distance block that keep it near ``budget`` elements (memory stays ~100 MB with temporaries)."""
    return max(16, budget // max(n_cols, 1))


def nearest_distance(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of x: distance to and index of its nearest row of y. The search runs in float32 (twice the
    speed); the distance to the neighbour found is then recomputed exactly, so a copy is at distance 0."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    idx = np.empty(len(x), dtype=np.int64)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    yy = (y32 * y32).sum(1)
    step = _rows_per_chunk(len(y))
    for s in range(0, len(x), step):
        d = yy[None, :] - 2 * x32[s : s + step] @ y32.T  # |x|^2 is constant per row: not needed for argmin
        idx[s : s + step] = d.argmin(1)
    dist = np.sqrt(((x - y[idx]) ** 2).sum(1)) if len(y) else np.full(len(x), np.inf)
    return dist, idx


def pairwise_distances(x: np.ndarray) -> np.ndarray:
    """Condensed distances between all pairs of rows of x (i < j)."""
    d = np.sqrt(sq_dists(x, x))
    i, j = np.triu_indices(len(x), 1)
    return d[i, j]


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """||mu_x - mu_y||^2 + Tr(S_x + S_y - 2 (S_x S_y)^(1/2)) between Gaussians fitted to two sets of vectors
    (the FID formula, Heusel et al. 2017). Here over *descriptor vectors*: not the CLaMP-based Frechet Music
    Distance (Retkowski et al. 2024), whose embedding model is not available offline."""
    mx, my = x.mean(0), y.mean(0)
    sx, sy = np.atleast_2d(np.cov(x, rowvar=False)), np.atleast_2d(np.cov(y, rowvar=False))
    # Tr (S_x S_y)^(1/2) = sum of sqrt(eigenvalues of S_x^(1/2) S_y S_x^(1/2)), a symmetric PSD matrix
    w, u = np.linalg.eigh(sx)
    root = (u * np.sqrt(np.clip(w, 0, None))) @ u.T
    ev = np.linalg.eigvalsh(root @ sy @ root)
    tr_covmean = float(np.sqrt(np.clip(ev, 0, None)).sum())
    return float(((mx - my) ** 2).sum() + np.trace(sx) + np.trace(sy) - 2 * tr_covmean)


def prdc(real: np.ndarray, fake: np.ndarray, k: int = 5, real_radii: np.ndarray | None = None,
         chunk: int | None = None) -> dict[str, float]:
    """Precision, recall, density and coverage of Naeem et al. (2020), "Reliable fidelity and diversity metrics
    for generative models", with k nearest neighbours.

    r_i = distance of real point i to its k-th nearest real neighbour; f_j likewise among fake points.
      precision = (1/M) sum_j 1[exists i: d(Y_j, X_i) <= r_i]
      recall    = (1/N) sum_i 1[exists j: d(X_i, Y_j) <= f_j]
      density   = (1/(kM)) sum_j sum_i 1[d(Y_j, X_i) <= r_i]
      coverage  = (1/N) sum_i 1[min_j d(X_i, Y_j) <= r_i]
    Identical distributions give density ~ 1 and coverage ~ 1 - 2^-k."""
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    r = kth_neighbour_distance(real, k) if real_radii is None else real_radii
    f = kth_neighbour_distance(fake, k)
    chunk = chunk or _rows_per_chunk(len(real))
    in_any_real = np.zeros(len(fake), dtype=bool)
    density_count = np.zeros(len(fake))
    nearest_fake = np.full(len(real), np.inf)
    recalled = np.zeros(len(real), dtype=bool)
    for s in range(0, len(fake), chunk):
        d = np.sqrt(sq_dists(fake[s : s + chunk], real))  # [m, N]
        inside = d <= r[None, :]
        in_any_real[s : s + chunk] = inside.any(1)
        density_count[s : s + chunk] = inside.sum(1)
        nearest_fake = np.minimum(nearest_fake, d.min(0))
        recalled |= (d <= f[s : s + chunk, None]).any(0)
    return {
        "precision": float(in_any_real.mean()),
        "recall": float(recalled.mean()),
        "density": float(density_count.sum() / (k * len(fake))),
        "coverage": float((nearest_fake <= r).mean()),
    }


def ndb_jsd(ref_counts: np.ndarray, gen_counts: np.ndarray, alpha: float = 0.05) -> dict[str, float]:
    """Number of statistically different bins and Jensen-Shannon divergence (Richardson & Weiss 2018).

    Bins are the reference's k-means cells. Per bin, a two-proportion z-test of the reference share p and the
    generated share q: z = (p - q) / sqrt(P (1 - P) (1/N_ref + 1/N_gen)) with pooled P; the bin is different when
    the two-sided p-value < alpha. NDB/K is the share of such bins. JSD (bits, 0..1) between the two bin
    distributions."""
    from scipy.stats import norm

    n_ref, n_gen = ref_counts.sum(), gen_counts.sum()
    p, q = ref_counts / n_ref, gen_counts / n_gen
    pooled = (ref_counts + gen_counts) / (n_ref + n_gen)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_ref + 1 / n_gen))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (p - q) / np.maximum(se, 1e-300), 0)
    different = 2 * norm.sf(np.abs(z)) < alpha
    m = 0.5 * (p + q)

    def kl(a, b):
        ok = a > 0
        return float(np.sum(a[ok] * np.log2(a[ok] / b[ok])))

    return {"ndb": float(different.sum()), "ndb_ratio": float(different.mean()), "jsd": 0.5 * kl(p, m) + 0.5 * kl(q, m),
            "different": different}
