package mocoref.reference;

import java.util.Map;
import mocoref.backend.Backend;
import mocoref.backend.Encoder;
import mocoref.backend.MocoModel;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;

/** The truth: float64, one thread, every sum in one fixed order. */
public final class ReferenceBackend implements Backend {
    private final boolean detectAnomalies;

    public ReferenceBackend() {
        this(false);
    }

    private ReferenceBackend(boolean detectAnomalies) {
        this.detectAnomalies = detectAnomalies;
    }

    @Override
    public Backend detectingAnomalies() {
        return new ReferenceBackend(true);
    }
    @Override
    public String name() {
        return "reference";
    }

    @Override
    public String describe() {
        return "reference: float64, 1 thread";
    }

    @Override
    public boolean isFloat64() {
        return true;
    }

    @Override
    public MocoModel create(MocoConfig config, Map<String, StoredTensor> init, String where) {
        ReferenceMoCo m = new ReferenceMoCo(config, init, where);
        if (detectAnomalies) m.detectAnomalies();
        return m;
    }

    @Override
    public Encoder encoder(ResNetConfig config, Map<String, StoredTensor> state, String prefix, String where) {
        return new ReferenceEncoder(config, state, prefix, where);
    }
}
