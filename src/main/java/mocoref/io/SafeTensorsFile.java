package mocoref.io;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import mocoref.MocoRefException;

/** The contents of one safetensors file, tensors in the order their data lies in the file. */
public final class SafeTensorsFile {
    private final Path path;
    private final Map<String, StoredTensor> tensors;
    private final Map<String, String> metadata;

    SafeTensorsFile(Path path, LinkedHashMap<String, StoredTensor> tensors, LinkedHashMap<String, String> metadata) {
        this.path = path;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    public Path path() {
        return path;
    }

    /** All tensors by name, unmodifiable. */
    public Map<String, StoredTensor> tensors() {
        return tensors;
    }

    /** The {@code __metadata__} strings, empty when the file has none; unmodifiable. */
    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    /** The tensor called {@code name}; a missing one is the user's error (wrong file), so it is reported as such. */
    public StoredTensor get(String name) {
        StoredTensor t = tensors.get(name);
        if (t == null) throw new MocoRefException(path + ": no tensor '" + OneLine.of(name) + "'");
        return t;
    }

    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public String toString() {
        return "SafeTensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
