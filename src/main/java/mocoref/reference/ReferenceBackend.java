package mocoref.reference;

import java.util.Map;
import mocoref.backend.Backend;
import mocoref.backend.MocoModel;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;

/** The truth: float64, one thread, every sum in one fixed order. */
public final class ReferenceBackend implements Backend {
    @Override
    public String name() {
        return "reference";
    }

    @Override
    public boolean isFloat64() {
        return true;
    }

    @Override
    public MocoModel create(MocoConfig config, Map<String, StoredTensor> init, String where) {
        return new ReferenceMoCo(config, init, where);
    }
}
