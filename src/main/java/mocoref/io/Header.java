package mocoref.io;

import java.util.LinkedHashMap;
import java.util.List;

/** A parsed and validated header: entries in data-offset order, and the metadata strings. */
record Header(List<HeaderEntry> entries, LinkedHashMap<String, String> metadata) {}
