package mocoref.opencl;

import static org.jocl.CL.*;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import mocoref.MocoRefException;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_device_partition_property;
import org.jocl.cl_platform_id;
import org.jocl.cl_program;

/**
 * The OpenCL platforms and devices this process sees, and the one built program per context.
 *
 * <p>PoCL compiles slowly (about half a second cold for the whole program), so a context and its
 * program are made once per process and shared by every {@link OpenClDevice} on the same devices;
 * each device gets its own command queue and kernel objects. Contexts are never released: they live
 * as long as the process, as the program cache does.
 */
public final class ClRuntime {
    /** The kernel sources, in build order (gemm.cl defines the tiles conv.cl uses). */
    public static final List<String> SOURCES = List.of("memory.cl", "gemm.cl", "conv.cl", "batchnorm.cl", "pooling.cl",
            "head.cl", "moco.cl");
    /** The product tiles: rows and columns of C per work-group, depth per step (gemm.cl's TM, TN, TK). */
    static final int TM = 64, TN = 64, TK = 16, WX = TN / 4, WY = TM / 4;

    /** One device as {@code moco-ref devices} lists it; {@code index} is what --cl-device names. */
    public record DeviceInfo(int index, cl_platform_id platform, String platformName, cl_device_id id, String name,
                             String type, int computeUnits, long globalMemory, long maxAlloc, String version,
                             boolean correctlyRoundedSqrt) {
        public String describe() {
            return index + ": " + name + " (" + platformName + "; " + type + ", " + computeUnits + " compute units, "
                    + globalMemory / (1 << 20) + " MiB, " + version + ")";
        }
    }

    /** A context over some devices of one platform and its built program. */
    public record Program(cl_context context, cl_program program, List<cl_device_id> devices, double buildSeconds,
                          String options) {}

    /** Where an {@link OpenClDevice} runs: a device (or sub-device) of a built program's context. */
    public record Target(Program program, cl_device_id device, DeviceInfo info, String label) {}

    private static List<DeviceInfo> devices;
    private static final Map<List<cl_device_id>, Program> programs = new HashMap<>();
    private static final Map<List<Integer>, List<cl_device_id>> subDevices = new HashMap<>();

    private ClRuntime() {}

    /**
     * Every device of every platform, in platform order; a one-line {@link MocoRefException} when
     * OpenCL cannot be loaded or has no platform (never an empty list).
     */
    public static synchronized List<DeviceInfo> devices() {
        if (devices != null) return devices;
        if (failure != null) throw new MocoRefException(failure); // JOCL's class does not initialize twice: keep the first reason
        try {
            return devices = findDevices();
        } catch (MocoRefException e) {
            failure = e.getMessage();
            throw e;
        }
    }

    private static String failure;

    private static List<DeviceInfo> findDevices() {
        List<DeviceInfo> all = new ArrayList<>();
        List<String> found = new ArrayList<>();
        try {
            CL.setExceptionsEnabled(true);
            int[] n = new int[1];
            clGetPlatformIDs(0, null, n);
            cl_platform_id[] platforms = new cl_platform_id[n[0]];
            clGetPlatformIDs(n[0], platforms, null);
            for (cl_platform_id p : platforms) {
                String pname = platformString(p, CL_PLATFORM_NAME);
                int[] nd = new int[1];
                try {
                    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, nd);
                } catch (CLException e) { // CL_DEVICE_NOT_FOUND: a platform without devices
                    found.add(pname + " (no devices: " + e.getMessage() + ")");
                    continue;
                }
                cl_device_id[] ids = new cl_device_id[nd[0]];
                clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd[0], ids, null);
                for (cl_device_id id : ids) all.add(info(all.size(), p, pname, id));
                found.add(pname + " (" + ids.length + " devices)");
            }
        } catch (CLException e) {
            throw new MocoRefException("opencl: no OpenCL platform found (" + e.getMessage() + "); install an OpenCL driver, "
                    + "e.g. PoCL for the CPU: apt-get install pocl-opencl-icd ocl-icd-libopencl1");
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new MocoRefException("opencl: cannot load OpenCL (" + e.getMessage() + "); the loader libOpenCL.so.1 "
                    + "comes with apt-get install ocl-icd-libopencl1");
        }
        if (all.isEmpty()) throw new MocoRefException("opencl: OpenCL platforms found but no devices: " + String.join("; ", found));
        return List.copyOf(all);
    }

    private static DeviceInfo info(int index, cl_platform_id p, String pname, cl_device_id id) {
        long type = deviceLong(id, CL_DEVICE_TYPE);
        String t = (type & CL_DEVICE_TYPE_GPU) != 0 ? "GPU" : (type & CL_DEVICE_TYPE_CPU) != 0 ? "CPU"
                : (type & CL_DEVICE_TYPE_ACCELERATOR) != 0 ? "accelerator" : "other";
        long fp = deviceLong(id, CL_DEVICE_SINGLE_FP_CONFIG);
        return new DeviceInfo(index, p, pname, id, deviceString(id, CL_DEVICE_NAME).trim(), t,
                deviceInt(id, CL_DEVICE_MAX_COMPUTE_UNITS), deviceLong(id, CL_DEVICE_GLOBAL_MEM_SIZE),
                deviceLong(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE), deviceString(id, CL_DEVICE_VERSION).trim(),
                (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0);
    }

    /** The device {@code index} as a target of its own context (built once per process). */
    public static Target target(int index) {
        DeviceInfo d = device(index);
        return new Target(program(d.platform(), List.of(d.id()), List.of(d)), d.id(), d, d.name());
    }

    /** Device {@code index} of {@link #devices()}; an IllegalArgumentException naming what there is when none. */
    public static DeviceInfo device(int index) {
        List<DeviceInfo> all = devices();
        if (index < 0 || index >= all.size()) {
            throw new IllegalArgumentException("there is no OpenCL device " + index + " (found " + all.size() + ": "
                    + all.stream().map(DeviceInfo::describe).reduce((a, b) -> a + "; " + b).orElse("") + ")");
        }
        return all.get(index);
    }

    /** Several devices, each in its own context (a program build each, cached per process). */
    public static List<Target> targets(int[] indices) {
        List<Target> out = new ArrayList<>();
        for (int i : indices) out.add(target(i));
        return out;
    }

    /**
     * Device {@code index} partitioned into {@code parts} equal sub-devices (clCreateSubDevices,
     * CL_DEVICE_PARTITION_EQUALLY), one context over all of them; made once per process.
     */
    public static synchronized List<Target> split(int index, int parts) {
        DeviceInfo d = device(index);
        if (parts < 2) throw new IllegalArgumentException("split:N needs N >= 2, got " + parts);
        if (d.computeUnits() < parts) {
            throw new IllegalArgumentException("device " + index + " (" + d.name() + ") has " + d.computeUnits()
                    + " compute units, too few to split into " + parts);
        }
        List<cl_device_id> subs = subDevices.get(List.of(index, parts));
        if (subs == null) {
            cl_device_partition_property props = new cl_device_partition_property();
            props.addProperty(CL_DEVICE_PARTITION_EQUALLY, d.computeUnits() / parts);
            int[] n = new int[1];
            try {
                clCreateSubDevices(d.id(), props, 0, null, n);
                cl_device_id[] ids = new cl_device_id[n[0]];
                clCreateSubDevices(d.id(), props, n[0], ids, null);
                if (ids.length < parts) throw new IllegalArgumentException("device " + index + " split into " + ids.length + " sub-devices, not " + parts);
                subs = List.of(ids).subList(0, parts);
            } catch (CLException e) {
                throw new MocoRefException("opencl: device " + index + " (" + d.name() + ") cannot be split into " + parts
                        + " sub-devices: " + e.getMessage());
            }
            subDevices.put(List.of(index, parts), subs);
        }
        List<DeviceInfo> infos = new ArrayList<>();
        for (cl_device_id s : subs) infos.add(info(index, d.platform(), d.platformName(), s));
        Program p = program(d.platform(), subs, infos);
        List<Target> out = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
            out.add(new Target(p, subs.get(i), infos.get(i), d.name() + " [sub-device " + i + "/" + parts + ", "
                    + infos.get(i).computeUnits() + " compute units]"));
        }
        return out;
    }

    /** The context and built program for exactly these devices of one platform, built once per process. */
    static synchronized Program program(cl_platform_id platform, List<cl_device_id> ids, List<DeviceInfo> infos) {
        Program p = programs.get(ids);
        if (p != null) return p;
        cl_context_properties props = new cl_context_properties();
        props.addProperty(CL_CONTEXT_PLATFORM, platform);
        cl_context context = clCreateContext(props, ids.size(), ids.toArray(new cl_device_id[0]), null, null, null);
        boolean exactSqrt = infos.stream().allMatch(DeviceInfo::correctlyRoundedSqrt);
        // Correctly rounded division and square root where the device offers them (BatchNorm's 1/sqrt,
        // the normalize's division): the same bits as IEEE; no -cl-fast-relaxed-math, no -cl-mad-enable.
        String options = "-cl-std=CL1.2 -DTM=" + TM + " -DTN=" + TN + " -DTK=" + TK
                + (exactSqrt ? " -cl-fp32-correctly-rounded-divide-sqrt" : "");
        long t0 = System.nanoTime();
        cl_program program = build(context, ids, source(), options, "tornado-kernels/*.cl");
        p = new Program(context, program, List.copyOf(ids), (System.nanoTime() - t0) / 1e9, options);
        programs.put(List.copyOf(ids), p);
        return p;
    }

    /** Builds {@code source}; a failure is a one-line error with the devices' build logs. */
    static cl_program build(cl_context context, List<cl_device_id> ids, String source, String options, String what) {
        cl_program program = clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
        try {
            clBuildProgram(program, ids.size(), ids.toArray(new cl_device_id[0]), options, null, null);
        } catch (CLException e) {
            StringBuilder log = new StringBuilder();
            for (cl_device_id id : ids) {
                long[] size = new long[1];
                clGetProgramBuildInfo(program, id, CL_PROGRAM_BUILD_LOG, 0, null, size);
                byte[] b = new byte[(int) size[0]];
                clGetProgramBuildInfo(program, id, CL_PROGRAM_BUILD_LOG, b.length, Pointer.to(b), null);
                String l = new String(b, StandardCharsets.UTF_8).replace("\0", "").trim();
                if (!l.isEmpty()) log.append(" [").append(deviceString(id, CL_DEVICE_NAME).trim()).append("] ").append(l);
            }
            String oneLine = log.toString().replaceAll("\\s+", " ");
            if (oneLine.length() > 4000) oneLine = oneLine.substring(0, 4000) + " ...";
            String cause = String.valueOf(e.getMessage()).lines().findFirst().orElse("").trim();
            throw new MocoRefException("opencl: building " + what + " failed (" + cause + "), build log:" + oneLine);
        }
        return program;
    }

    /** The kernel sources from the classpath, concatenated in {@link #SOURCES} order. */
    public static String source() {
        StringBuilder s = new StringBuilder();
        for (String f : SOURCES) {
            String path = "tornado-kernels/" + f;
            try (InputStream in = ClRuntime.class.getClassLoader().getResourceAsStream(path)) {
                if (in == null) throw new MocoRefException("opencl: kernel source " + path + " is missing from the classpath");
                s.append("// ---- ").append(f).append('\n').append(new String(in.readAllBytes(), StandardCharsets.UTF_8)).append('\n');
            } catch (IOException e) {
                throw new MocoRefException("opencl: cannot read " + path + ": " + e.getMessage());
            }
        }
        return s.toString();
    }

    /** The device's platform's version string (CL_PLATFORM_VERSION). */
    public static String platformVersion(DeviceInfo d) {
        return platformString(d.platform(), CL_PLATFORM_VERSION).trim();
    }

    static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        clGetPlatformInfo(p, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        clGetPlatformInfo(p, param, b.length, Pointer.to(b), null);
        return new String(b, 0, Math.max(0, b.length - 1), StandardCharsets.UTF_8);
    }

    static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        clGetDeviceInfo(d, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        clGetDeviceInfo(d, param, b.length, Pointer.to(b), null);
        return new String(b, 0, Math.max(0, b.length - 1), StandardCharsets.UTF_8);
    }

    static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        clGetDeviceInfo(d, param, Sizeof.cl_long, Pointer.to(v), null);
        return v[0];
    }

    static int deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        clGetDeviceInfo(d, param, Sizeof.cl_int, Pointer.to(v), null);
        return v[0];
    }
}
