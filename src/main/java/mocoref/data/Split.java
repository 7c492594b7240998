package mocoref.data;

/** Which half of a dataset: the training images, or the held-out ones (MNIST's t10k, CIFAR's test batch, ImageNet's val/). */
public enum Split {
    TRAIN("train"),
    TEST("test");

    private final String label;

    Split(String label) {
        this.label = label;
    }

    /** "train" or "test", for names and messages. */
    public String label() {
        return label;
    }
}
