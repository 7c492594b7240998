package mocoref.eval;

/**
 * kNN accuracy as fractions in [0, 1] (0.826 for the demo's 82.6%): {@code top1}, the share of
 * queries whose highest-voted class is their label, and {@code top5}, whose label is among the
 * five highest-voted classes (1 when there are at most five classes).
 */
public record KnnResult(double top1, double top5) {}
