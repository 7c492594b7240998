package mocoref.eval;

/** Classification accuracy as fractions in [0, 1]: label ranked first, and among the first five. */
public record Accuracy(double top1, double top5) {}
