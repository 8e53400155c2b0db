using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Testing.Tests;

/// <summary>Draws generator values with an explicit seed (what determinism means: the same seed gives the same values).</summary>
internal static class Samples
{
    public static T[] Draw<T>(Gen<T> gen, ulong seed, int count = 200, int size = 50) =>
        gen.Sample(count, new Rnd(seed, 0x9E3779B97F4A7C15), size); // FsCheck 3.6 takes (numberOfSamples, seed, size)

    /// <summary>A printable form that compares collections by content (records print nested lists as type names).</summary>
    public static string Show(object? value) => value switch
    {
        null => "null",
        string s => s,
        System.Collections.IDictionary d => "{" + string.Join(", ", d.Keys.Cast<object>().Select(k => $"{Show(k)}: {Show(d[k])}")) + "}",
        System.Collections.IEnumerable e => "[" + string.Join(", ", e.Cast<object>().Select(Show)) + "]",
        SimDnsRecord r => $"{r.Type} {r.Address} {Show(r.Text)}",
        Firezone.Connlib.Model.ClientResource r => $"{r} sites {Show(r.Sites)}",
        _ => value.ToString() ?? "",
    };

    public static string[] Printed<T>(Gen<T> gen, ulong seed, int count = 200) => Draw(gen, seed, count).Select(v => Show(v)).ToArray();
}
