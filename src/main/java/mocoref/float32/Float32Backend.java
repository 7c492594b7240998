package mocoref.float32;

import java.util.Map;
import java.util.function.Supplier;
import mocoref.backend.Backend;
import mocoref.backend.Encoder;
import mocoref.backend.MocoModel;
import mocoref.device.Device;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import mocoref.model.ResNetLayout;

/**
 * A float32 backend: the model of this package ({@link Float32MoCo}, {@link Float32ResNet}) on a
 * device of one kind, a fresh device per model or encoder. Judged at the float32 tolerance.
 */
public final class Float32Backend implements Backend {
    private final String name;
    private final Supplier<Device> devices;
    private final String description;
    private final boolean detectAnomalies;

    /** {@code devices} makes a device each time one is needed; its first one is asked to describe itself. */
    public Float32Backend(String name, Supplier<Device> devices) {
        this(name, devices, describe(devices), false);
    }

    private Float32Backend(String name, Supplier<Device> devices, String description, boolean detectAnomalies) {
        this.name = name;
        this.devices = devices;
        this.description = description;
        this.detectAnomalies = detectAnomalies;
    }

    private static String describe(Supplier<Device> devices) {
        try (Device d = devices.get()) {
            return d.describe();
        }
    }

    @Override
    public Backend detectingAnomalies() {
        return new Float32Backend(name, devices, description, true);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String describe() {
        return name + ": " + description;
    }

    @Override
    public boolean isFloat64() {
        return false;
    }

    /** A new device of this backend's kind (for the twin tests). */
    public Device newDevice() {
        return devices.get();
    }

    @Override
    public MocoModel create(MocoConfig config, Map<String, StoredTensor> init, String where) {
        Float32MoCo m = new Float32MoCo(config, init, where, devices.get());
        if (detectAnomalies) m.detectAnomalies();
        return m;
    }

    @Override
    public Encoder encoder(ResNetConfig config, Map<String, StoredTensor> state, String prefix, String where) {
        Device device = devices.get();
        EncoderWeights weights = new EncoderWeights(device, ResNetLayout.of(config), false);
        weights.load(state::get, prefix, where);
        return new Float32Encoder(device, weights, new ActivationPool(device));
    }
}
