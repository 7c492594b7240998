package mocoref.reference;

import java.util.LinkedHashMap;
import java.util.Map;
import mocoref.tensor.Tensor;

/**
 * PyTorch's {@code torch.optim.SGD} with momentum and weight decay (no dampening, no Nesterov):
 * {@code d = grad + wd*theta; buf = d on the first step, else momentum*buf + d; theta -= lr*buf}.
 * Weight decay applies to every parameter, BatchNorm's included, as in the official MoCo code.
 */
public final class Sgd {
    private final Map<String, Param> params;
    private final double momentum;
    private final double weightDecay;
    /** Momentum buffers by parameter name; absent until a parameter's first step (or loaded). */
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();

    public Sgd(Map<String, Param> params, double momentum, double weightDecay) {
        this.params = params;
        this.momentum = momentum;
        this.weightDecay = weightDecay;
    }

    /** Continues from a saved momentum buffer, as PyTorch does after {@code load_state_dict}. */
    public void setBuffer(String name, double[] values) {
        Param p = params.get(name);
        buffers.put(name, new Tensor(values.clone(), p.value.shape));
    }

    public Map<String, Tensor> buffers() {
        return buffers;
    }

    public void step(double lr) {
        params.forEach((name, p) -> {
            double[] theta = p.value.data, grad = p.grad.data;
            Tensor buf = buffers.get(name);
            boolean first = buf == null;
            if (first) {
                buf = new Tensor(p.value.shape);
                buffers.put(name, buf);
            }
            for (int i = 0; i < theta.length; i++) {
                double d = grad[i] + weightDecay * theta[i];
                double b = (first || momentum == 0) ? d : momentum * buf.data[i] + d;
                buf.data[i] = b;
                theta[i] -= lr * b;
            }
        });
    }
}
