package mocoref.cpu;

import java.util.Map;
import mocoref.backend.Backend;
import mocoref.backend.Encoder;
import mocoref.backend.MocoModel;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;

/** float32 on all cores: Vector API kernels when the module is present, scalar loops otherwise. */
public final class CpuBackend implements Backend {
    private final int threads;

    /** On every core. */
    public CpuBackend() {
        this(WorkerPool.defaultThreads());
    }

    public CpuBackend(int threads) {
        if (threads < 1) throw new mocoref.MocoRefException("threads must be at least 1, got " + threads);
        this.threads = threads;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public boolean isFloat64() {
        return false;
    }

    public int threads() {
        return threads;
    }

    @Override
    public MocoModel create(MocoConfig config, Map<String, StoredTensor> init, String where) {
        return new CpuMoCo(config, init, where, threads);
    }

    /** float32 eval-mode encoder on this backend's threads (instead of the float64 reference's one). */
    @Override
    public Encoder encoder(ResNetConfig config, Map<String, StoredTensor> state, String prefix, String where) {
        return new CpuEncoder(config, state, prefix, where, threads);
    }
}
