package mocoref.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses a safetensors JSON header and checks it against the data section, so that reading the
 * data afterwards can trust every offset and size: no allocation is sized by an unchecked number.
 */
final class HeaderReader {
    static final String METADATA_KEY = "__metadata__";

    // Duplicate names would silently drop a tensor, trailing tokens mean a corrupt header: both are refused.
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final String where;

    private HeaderReader(String where) {
        this.where = where;
    }

    /** Parses {@code headerBytes} of the file {@code where}, whose data section is {@code dataSize} bytes. */
    static Header parse(String where, byte[] headerBytes, long dataSize) {
        return new HeaderReader(where).parse(headerBytes, dataSize);
    }

    private Header parse(byte[] headerBytes, long dataSize) {
        JsonNode root = parseJson(decodeUtf8(headerBytes));
        List<HeaderEntry> entries = new ArrayList<>();
        LinkedHashMap<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = metadata(field.getValue());
            } else {
                entries.add(entry(field.getKey(), field.getValue(), dataSize));
            }
        }
        entries.sort(Comparator.comparingLong(HeaderEntry::begin).thenComparingLong(HeaderEntry::end));
        checkCoverage(entries, dataSize);
        return new Header(entries, metadata);
    }

    private String decodeUtf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw fail("header is not valid UTF-8");
        }
    }

    private JsonNode parseJson(String text) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String position = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw fail("header is not valid JSON" + position + ": " + squeeze(e.getOriginalMessage()));
        }
        if (root == null || root.isMissingNode()) throw fail("header is empty; expected a JSON object");
        if (!root.isObject()) throw fail("header must be a JSON object, got " + kind(root));
        return root;
    }

    private LinkedHashMap<String, String> metadata(JsonNode node) {
        if (!node.isObject()) {
            throw fail("\"" + METADATA_KEY + "\" must be an object of strings, got " + kind(node));
        }
        LinkedHashMap<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            if (!field.getValue().isTextual()) {
                throw fail("\"" + METADATA_KEY + "\" must map strings to strings, but '" + OneLine.of(field.getKey())
                        + "' is " + kind(field.getValue()));
            }
            out.put(field.getKey(), field.getValue().textValue());
        }
        return out;
    }

    private HeaderEntry entry(String name, JsonNode node, long dataSize) {
        String tensor = "tensor '" + OneLine.of(name) + "': ";
        if (!node.isObject()) throw fail(tensor + "entry must be a JSON object, got " + kind(node));

        JsonNode dtypeNode = required(node, "dtype", tensor);
        if (!dtypeNode.isTextual()) throw fail(tensor + "\"dtype\" must be a string, got " + kind(dtypeNode));
        DType dtype = DType.byName(dtypeNode.textValue());
        if (dtype == null) {
            throw fail(tensor + "dtype " + OneLine.of(dtypeNode.textValue()) + " is not supported (supported: "
                    + DType.supportedNames() + ")");
        }

        long[] dims = integers(required(node, "shape", tensor), "shape", tensor);
        for (long d : dims) {
            if (d < 0) throw fail(tensor + "negative dimension " + d + " in shape " + Arrays.toString(dims));
        }
        if (!fitsJavaArray(dims)) {
            throw fail(tensor + "shape " + Arrays.toString(dims) + " exceeds one Java array (at most "
                    + Integer.MAX_VALUE + " elements)");
        }
        int[] shape = new int[dims.length];
        long numel = 1;
        for (int i = 0; i < dims.length; i++) {
            shape[i] = (int) dims[i];
            numel *= dims[i];
        }

        long[] offsets = integers(required(node, "data_offsets", tensor), "data_offsets", tensor);
        String offsetsText = Arrays.toString(offsets);
        if (offsets.length != 2) {
            throw fail(tensor + "data_offsets must be [begin, end], got " + offsetsText);
        }
        long begin = offsets[0];
        long end = offsets[1];
        if (begin < 0 || end < 0) throw fail(tensor + "data_offsets " + offsetsText + " must not be negative");
        if (begin > end) throw fail(tensor + "data_offsets " + offsetsText + " begin after end");
        if (end > dataSize) {
            throw fail(tensor + "data_offsets " + offsetsText + " end beyond the data section of " + dataSize
                    + " bytes (truncated file?)");
        }
        long needed = numel * dtype.bytes();
        if (needed != end - begin) {
            throw fail(tensor + "shape " + Arrays.toString(dims) + " needs " + needed + " bytes but data_offsets span "
                    + (end - begin) + " (" + dtype + ", " + dtype.bytes() + " bytes each)");
        }
        return new HeaderEntry(name, dtype, shape, (int) numel, begin, end);
    }

    /**
     * Whether every running product of the dims fits an int: the rule {@code Shapes.numel} applies,
     * so that whatever passes here also makes a StoredTensor.
     */
    private static boolean fitsJavaArray(long[] dims) {
        long n = 1;
        for (long d : dims) {
            if (d > Integer.MAX_VALUE) return false;
            n *= d;
            if (n > Integer.MAX_VALUE) return false;
        }
        return true;
    }

    private JsonNode required(JsonNode entry, String key, String tensor) {
        JsonNode v = entry.get(key);
        if (v == null) throw fail(tensor + "missing \"" + key + "\"");
        return v;
    }

    private long[] integers(JsonNode node, String key, String tensor) {
        if (!node.isArray()) throw fail(tensor + "\"" + key + "\" must be an array of integers, got " + kind(node));
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber()) {
                throw fail(tensor + "\"" + key + "\" must be an array of integers, but holds " + squeeze(v.toString()));
            }
            if (!v.canConvertToLong()) {
                throw fail(tensor + "\"" + key + "\" holds " + v.asText() + ", out of the 64-bit range");
            }
            out[i] = v.longValue();
        }
        return out;
    }

    /** The format requires every data byte to belong to exactly one tensor; entries come sorted by offset. */
    private void checkCoverage(List<HeaderEntry> entries, long dataSize) {
        String rule = "; the format requires the data section to be covered exactly, each byte by one tensor";
        long covered = 0;
        HeaderEntry previous = null;
        for (HeaderEntry e : entries) {
            if (e.begin() < covered) {
                throw fail("tensors '" + OneLine.of(previous.name()) + "' " + span(previous) + " and '"
                        + OneLine.of(e.name()) + "' " + span(e) + " overlap" + rule);
            }
            if (e.begin() > covered) {
                throw fail("gap of " + (e.begin() - covered) + " bytes at data offset " + covered + " before tensor '"
                        + OneLine.of(e.name()) + "'" + rule);
            }
            covered = e.end();
            previous = e;
        }
        if (covered != dataSize) {
            String after = previous == null ? "but no tensor covers them" : "after the last tensor '"
                    + OneLine.of(previous.name()) + "'";
            throw fail((dataSize - covered) + " bytes of data " + after + rule);
        }
    }

    private static String span(HeaderEntry e) {
        return "[" + e.begin() + ", " + e.end() + ")";
    }

    private static String kind(JsonNode node) {
        return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Jackson messages may span lines and quote long inputs; an error message must be one short line. */
    private static String squeeze(String s) {
        String one = OneLine.of(s == null ? "" : s.replaceAll("\\s+", " ").trim());
        return one.length() <= 200 ? one : one.substring(0, 200) + "...";
    }

    private SafeTensorsException fail(String message) {
        return new SafeTensorsException(where + ": " + message);
    }
}
