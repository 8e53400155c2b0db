using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using NSec.Cryptography;

namespace Firezone.Benchmarks.WireGuard;

/// <summary>
/// <c>seal-compare [--size N]</c>: ChaCha20-Poly1305 sealing of N-byte packets (default 1,280) with System.Security.Cryptography (OpenSSL,
/// one <see cref="System.Security.Cryptography.ChaCha20Poly1305"/> context per key) and with NSec (libsodium), alternating rounds so both see the
/// same background load; prints the median ns per packet of each and their ratio (the per-call overhead shows here).
/// </summary>
internal static class SealComparison
{
    private const int Batch = 2000;
    private const int Rounds = 40;

    public static int Run(string[] args)
    {
        int i0 = Array.IndexOf(args, "--size");
        int packetSize = i0 >= 0 && i0 + 1 < args.Length ? int.Parse(args[i0 + 1], CultureInfo.InvariantCulture) : 1280;
        var key = RandomNumberGenerator.GetBytes(32);
        var packet = RandomNumberGenerator.GetBytes(packetSize);
        var output = new byte[packetSize + 16];
        var nonce = new byte[12];
        using var openSsl = new System.Security.Cryptography.ChaCha20Poly1305(key);
        using var sodiumKey = Key.Import(AeadAlgorithm.ChaCha20Poly1305, key, KeyBlobFormat.RawSymmetricKey);
        var sodium = AeadAlgorithm.ChaCha20Poly1305;
        ulong counter = 0;
        var a = new List<double>();
        var b = new List<double>();
        for (int r = 0; r < Rounds; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < Batch; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(nonce.AsSpan(4), counter++);
                openSsl.Encrypt(nonce, packet, output.AsSpan(0, packetSize), output.AsSpan(packetSize, 16));
            }

            a.Add(sw.Elapsed.TotalNanoseconds / Batch);
            sw.Restart();
            for (int i = 0; i < Batch; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(nonce.AsSpan(4), counter++);
                sodium.Encrypt(sodiumKey, nonce, ReadOnlySpan<byte>.Empty, packet, output);
            }

            b.Add(sw.Elapsed.TotalNanoseconds / Batch);
        }

        a.Sort();
        b.Sort();
        double ma = a[a.Count / 2], mb = b[b.Count / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seal {packetSize} B: OpenSSL (BCL) {ma:F0} ns/packet, libsodium (NSec) {mb:F0} ns/packet; libsodium/OpenSSL {mb / ma:F2}"));
        return 0;
    }
}
