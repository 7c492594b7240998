package mocoref.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/** train --preset: the values it stands in, what wins over them, and the line a run prints. */
class TrainPresetsTest {
    /** A fresh train command parsed from {@code args}, its preset applied as {@link Main} does. */
    private static CommandLine train(String... args) {
        CommandLine root = Main.commandLine();
        List<String> all = new ArrayList<>(List.of("train"));
        all.addAll(List.of(args));
        ParseResult parsed = root.parseArgs(all.toArray(String[]::new)).subcommand();
        CommandLine train = root.getSubcommands().get("train");
        ((TrainCommand) train.getCommand()).applyPreset(parsed);
        return train;
    }

    private static Object value(CommandLine train, String option) {
        Object v = train.getCommandSpec().findOption(option).getValue();
        return v instanceof int[] a ? java.util.Arrays.toString(a) : v;
    }

    @ParameterizedTest
    @ValueSource(strings = {"quick", "1h", "none"})
    void aPresetSetsItsValuesWithTheOptionsOwnTypes(String name) {
        CommandLine train = train("--preset", name);
        for (Map.Entry<String, Object> e : TrainPresets.PRESETS.get(name).entrySet()) {
            OptionSpec o = train.getCommandSpec().findOption(e.getKey());
            assertTrue(o.type().isInstance(e.getValue()) || o.type().isPrimitive() && boxed(o.type()).isInstance(e.getValue()),
                    name + " " + e.getKey() + ": " + e.getValue().getClass() + " for an option of " + o.type());
            Object expected = e.getValue() instanceof int[] a ? java.util.Arrays.toString(a) : e.getValue();
            assertEquals(expected, value(train, e.getKey()), name + " " + e.getKey());
        }
    }

    /** The recipe line a run prints is a command line: given as options, it sets exactly what the preset set. */
    @ParameterizedTest
    @ValueSource(strings = {"quick", "1h"})
    void thePrintedRecipeReproducesThePreset(String name) {
        CommandLine fromPreset = train("--preset", name);
        List<String> args = new ArrayList<>(List.of("--preset", "none"));
        args.addAll(List.of(TrainPresets.describe(name).split(" ")));
        CommandLine fromLine = train(args.toArray(String[]::new));
        for (OptionSpec o : fromPreset.getCommandSpec().options()) {
            if (o.longestName().equals("--preset")) continue;
            assertEquals(normal(o.getValue()), normal(fromLine.getCommandSpec().findOption(o.longestName()).getValue()), o.longestName());
        }
    }

    @Test
    void theDefaultPresetIsQuickAndNoneLeavesTheOptionsDefaults() {
        CommandLine implicit = train(), quick = train("--preset", "quick"), none = train("--preset", "none");
        for (OptionSpec o : implicit.getCommandSpec().options()) {
            if (o.longestName().equals("--preset")) continue;
            assertEquals(normal(quick.getCommandSpec().findOption(o.longestName()).getValue()), normal(o.getValue()), o.longestName());
        }
        assertEquals(3, value(none, "--epochs"));
        assertEquals(256, value(none, "--batch-size"));
        assertEquals(0.06, value(none, "--lr"));
        assertFalse(TrainPresets.PRESETS.get("quick").isEmpty(), "quick changes the recipe");
        assertEquals(List.of("quick", "1h", "none"), List.copyOf(TrainPresets.PRESETS.keySet()), "presets are measured recipes only");
    }

    @Test
    void anOptionGivenWinsOverItsPresetValue() {
        for (String name : List.of("quick", "1h")) {
            for (Map.Entry<String, Object> e : TrainPresets.PRESETS.get(name).entrySet()) {
                if (!(e.getValue() instanceof Integer || e.getValue() instanceof Double)) continue;
                String given = e.getValue() instanceof Integer i ? String.valueOf(i + 1) : String.valueOf((Double) e.getValue() / 2);
                Object v = value(train("--preset", name, e.getKey(), given), e.getKey());
                assertEquals(given, String.valueOf(v), name + " " + e.getKey());
            }
        }
    }

    @Test
    void augPlusStandsForTheAugmentationAPresetWouldSet() {
        assertTrue(TrainPresets.PRESETS.get("quick").containsKey("--aug"), "quick sets an augmentation");
        CommandLine train = train("--preset", "quick", "--aug-plus");
        assertEquals(null, value(train, "--aug"));
        assertEquals(true, value(train, "--aug-plus"));
    }

    @Test
    void theGreyImagesAugmentationIsNotSetForColourImages() {
        CommandLine root = Main.commandLine();
        ParseResult parsed = root.parseArgs("train", "--in-channels", "3").subcommand();
        CommandLine colour = root.getSubcommands().get("train");
        String line = TrainPresets.apply("quick", colour.getCommandSpec(), parsed);
        assertEquals(null, value(colour, "--aug"), "colour keeps its own default (v1)");
        assertEquals(64, value(colour, "--batch-size"), "the rest of the preset still applies");
        assertFalse(line.contains("--aug"), line);
        assertTrue(line.contains("--batch-size 64"), line);
    }

    @Test
    void theAppliedLineLeavesOutWhatTheCommandLineGave() {
        CommandLine root = Main.commandLine();
        ParseResult parsed = root.parseArgs("train", "--batch-size", "32").subcommand();
        String line = TrainPresets.apply("quick", root.getSubcommands().get("train").getCommandSpec(), parsed);
        assertFalse(line.contains("--batch-size"), line);
        assertTrue(line.contains("--aug " + TrainPresets.PRESETS.get("quick").get("--aug")), line);
        assertEquals("", TrainPresets.apply("none", root.getSubcommands().get("train").getCommandSpec(), parsed));
    }

    private static Object normal(Object v) {
        return v instanceof int[] a ? java.util.Arrays.toString(a) : Objects.toString(v);
    }

    private static Class<?> boxed(Class<?> primitive) {
        return primitive == int.class ? Integer.class : primitive == double.class ? Double.class : primitive == boolean.class
                ? Boolean.class : primitive == long.class ? Long.class : primitive;
    }
}
