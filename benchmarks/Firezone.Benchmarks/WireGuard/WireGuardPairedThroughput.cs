using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.WireGuard;

namespace Firezone.Benchmarks.WireGuard;

/// <summary>
/// Paired throughput harness for busy machines: alternates short batches of raw ChaCha20Poly1305 seal+open and
/// tunnel encapsulate+decapsulate (ABBA order) so both see the same background load, then prints the median
/// Gbit/s of each, the median per-round ratio and the bytes allocated by the tunnel batches.
/// Run: <c>dotnet run -c Release --project benchmarks/Firezone.Benchmarks -- wireguard-paired</c>.
/// </summary>
public static class WireGuardPairedThroughput
{
    private const int PacketSize = 1280;
    private const int Batch = 200;
    private const int Rounds = 2000;

    /// <summary>Runs the measurement and prints the figures.</summary>
    public static void Run()
    {
        var now = TimeSpan.FromSeconds(1);
        var wall = new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
        var packet = new byte[PacketSize];
        RandomNumberGenerator.Fill(packet);
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), PacketSize);
        var wire = new byte[PacketSize + 64];
        var plain = new byte[PacketSize + 64];
        var nonce = new byte[12];
        var tag = new byte[16];

        var (a, b) = ConnectedTunnels.Create(now, wall);
        using var disposeA = a;
        using var disposeB = b;

        var key = RandomNumberGenerator.GetBytes(32);
        using var seal = new ChaCha20Poly1305(key);
        using var open = new ChaCha20Poly1305(key);
        ulong counter = 0;

        void RawBatch()
        {
            for (var i = 0; i < Batch; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(nonce.AsSpan(4), counter++);
                seal.Encrypt(nonce, packet, wire.AsSpan(0, PacketSize), tag);
                open.Decrypt(nonce, wire.AsSpan(0, PacketSize), tag, plain.AsSpan(0, PacketSize));
            }
        }

        void TunnelBatch()
        {
            for (var i = 0; i < Batch; i++)
            {
                var e = a.Encapsulate(packet, wire, now);
                var d = b.Decapsulate(wire.AsSpan(0, e.Length), default, plain, now);
                if (d.Kind != TunnelResultKind.WriteToTunnelV4) throw new InvalidOperationException(d.Error.ToString());
            }
        }

        var (raw, tunnel, allocated) = PairedRounds.Run(RawBatch, TunnelBatch, Rounds);
        static double Gbps(double seconds) => Batch * PacketSize * 8 / seconds / 1e9;
        var ci = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Format(ci, "WireGuard paired throughput, 1280-byte packets, one core, {0} rounds x {1} packets (ABBA)", Rounds, Batch));
        Console.WriteLine(string.Format(ci, "  raw ChaCha20Poly1305 seal+open      : {0:F2} Gbit/s (median)", Gbps(PairedRounds.Median(raw))));
        Console.WriteLine(string.Format(ci, "  tunnel encapsulate+decapsulate      : {0:F2} Gbit/s (median)", Gbps(PairedRounds.Median(tunnel))));
        Console.WriteLine(string.Format(ci, "  tunnel / raw (median of round ratios): {0:F1} % (target >= 85 %)", PairedRounds.MedianRatio(raw, tunnel) * 100));
        Console.WriteLine(string.Format(ci, "  bytes allocated by {0} tunnel round trips: {1}", (long)Rounds * Batch, allocated));
    }
}
