using System.Diagnostics;
using System.Globalization;
using Firezone.Tun.Packets;

namespace Firezone.Benchmarks;

/// <summary>
/// <c>checksum-rate</c>: ns per 1,228-byte TCP payload (one MTU segment) for <see cref="InternetChecksum.Add"/>, median
/// of 30 rounds of 20,000 sums, next to a plain big-endian 16-bit loop (the RFC 1071 definition) for reference.
/// </summary>
internal static class ChecksumRate
{
    public static int Run()
    {
        var data = new byte[1228];
        new Random(1).NextBytes(data);
        var ours = new List<double>();
        var plain = new List<double>();
        ulong sink = 0;
        for (int r = 0; r < 30; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < 20_000; i++)
            {
                sink += InternetChecksum.Add((ulong)i, data);
            }

            ours.Add(sw.Elapsed.TotalNanoseconds / 20_000);
            sw.Restart();
            for (int i = 0; i < 20_000; i++)
            {
                ulong sum = (ulong)i;
                for (int k = 0; k + 1 < data.Length; k += 2)
                {
                    sum += (ulong)((data[k] << 8) | data[k + 1]);
                }

                sink += sum;
            }

            plain.Add(sw.Elapsed.TotalNanoseconds / 20_000);
        }

        ours.Sort();
        plain.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"checksum of 1228 B: InternetChecksum.Add {ours[15]:F0} ns, plain 16-bit loop {plain[15]:F0} ns (sink {sink % 7})"));
        return 0;
    }
}
