package mocoref.opencl;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import mocoref.device.DataParallelDevice;
import mocoref.device.Device;

/**
 * Which OpenCL devices a run uses, as {@code --cl-device} and {@code --cl-devices} name them:
 * <ul>
 * <li>{@code N} (or nothing: 0): device N of {@code moco-ref devices}' list;</li>
 * <li>{@code N,M,...} or {@code all}: those devices, data parallel ({@link DataParallelDevice});</li>
 * <li>{@code split:D} (or {@code split:D@N}): device 0 (N) partitioned into D equal sub-devices,
 *     data parallel: several devices on one CPU.</li>
 * </ul>
 */
public record OpenClSelection(String spec) {
    public static final OpenClSelection DEFAULT = new OpenClSelection("0");

    /**
     * The selection {@code spec} names; an IllegalArgumentException saying what is wrong with it
     * (checked without touching OpenCL).
     */
    public static OpenClSelection parse(String spec) {
        String s = spec == null ? "0" : spec.trim();
        if (s.equals("all") || s.matches("\\d+(,\\d+)*")) return new OpenClSelection(s);
        if (s.matches("split:\\d+(@\\d+)?")) {
            if (parts(s) < 2) throw new IllegalArgumentException("split:D needs D >= 2, got '" + s + "'");
            return new OpenClSelection(s);
        }
        throw new IllegalArgumentException("'" + spec + "' is not a device list: give N, N,M,..., all, or split:D");
    }

    private static int parts(String s) {
        return Integer.parseInt(s.substring("split:".length()).replaceAll("@.*", ""));
    }

    public boolean isSplit() {
        return spec.startsWith("split:");
    }

    /** The devices (or sub-devices) selected, each with its built program. */
    public List<ClRuntime.Target> targets() {
        if (isSplit()) {
            int at = spec.contains("@") ? Integer.parseInt(spec.substring(spec.indexOf('@') + 1)) : 0;
            return ClRuntime.split(at, parts(spec));
        }
        if (spec.equals("all")) {
            int[] all = new int[ClRuntime.devices().size()];
            for (int i = 0; i < all.length; i++) all[i] = i;
            return ClRuntime.targets(all);
        }
        String[] p = spec.split(",");
        int[] idx = new int[p.length];
        for (int i = 0; i < p.length; i++) idx[i] = Integer.parseInt(p[i]);
        for (int i = 0; i < idx.length; i++) {
            for (int j = 0; j < i; j++) if (idx[i] == idx[j]) throw new IllegalArgumentException("device " + idx[i] + " is named twice");
        }
        return ClRuntime.targets(idx);
    }

    /** How many devices a step is spread over. */
    public int count() {
        return targets().size();
    }

    /** Makes a fresh device each call: one {@link OpenClDevice}, or a {@link DataParallelDevice} over several. */
    public Supplier<Device> devices() {
        List<ClRuntime.Target> targets = targets();
        if (targets.size() == 1) return () -> new OpenClDevice(targets.get(0));
        return () -> {
            List<OpenClDevice> all = new ArrayList<>();
            for (ClRuntime.Target t : targets) all.add(new OpenClDevice(t));
            return new DataParallelDevice(all);
        };
    }
}
