using System.Buffers.Binary;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.WireGuard;

namespace Firezone.Benchmarks.WireGuard;

/// <summary>
/// Encapsulate + decapsulate of one 1280-byte IP packet through two established tunnels, beside a raw
/// ChaCha20Poly1305 seal + open of the same size, on one core. Prints Gbit/s of each and the ratio to raw
/// (target: at least 85 %). MemoryDiagnoser shows the per-packet allocation (expected: none).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class WireGuardThroughputBenchmarks
{
    /// <summary>Inner packet size (Firezone's tunnel MTU).</summary>
    public const int PacketSize = 1280;

    private static readonly TimeSpan Now = TimeSpan.FromSeconds(1);
    private static readonly DateTimeOffset Wall = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private readonly byte[] _packet = new byte[PacketSize];
    private readonly byte[] _wire = new byte[PacketSize + 64];
    private readonly byte[] _plain = new byte[PacketSize + 64];
    private readonly byte[] _nonce = new byte[12];
    private readonly byte[] _tag = new byte[16];
    private Tunnel _a = null!;
    private Tunnel _b = null!;
    private ChaCha20Poly1305 _seal = null!;
    private ChaCha20Poly1305 _open = null!;
    private ulong _counter;

    [GlobalSetup]
    public void Setup()
    {
        RandomNumberGenerator.Fill(_packet);
        _packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(_packet.AsSpan(2), PacketSize);

        (_a, _b) = ConnectedTunnels.Create(Now, Wall);

        var key = RandomNumberGenerator.GetBytes(32);
        _seal = new ChaCha20Poly1305(key);
        _open = new ChaCha20Poly1305(key);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a.Dispose();
        _b.Dispose();
        _seal.Dispose();
        _open.Dispose();
    }

    /// <summary>Raw AEAD: seal and open 1280 bytes with a fresh counter nonce.</summary>
    [Benchmark(Baseline = true, Description = "raw ChaCha20Poly1305 seal+open 1280 B")]
    public int RawSealOpen()
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_nonce.AsSpan(4), _counter++);
        _seal.Encrypt(_nonce, _packet, _wire.AsSpan(0, PacketSize), _tag);
        _open.Decrypt(_nonce, _wire.AsSpan(0, PacketSize), _tag, _plain.AsSpan(0, PacketSize));
        return _plain[0];
    }

    /// <summary>Tunnel: encapsulate on A, decapsulate on B (header, index lookup, replay window, IP length check).</summary>
    [Benchmark(Description = "tunnel encapsulate+decapsulate 1280 B")]
    public int EncapsulateDecapsulate()
    {
        var r = _a.Encapsulate(_packet, _wire, Now);
        var d = _b.Decapsulate(_wire.AsSpan(0, r.Length), default, _plain, Now);
        if (d.Kind != TunnelResultKind.WriteToTunnelV4) throw new InvalidOperationException(d.Error.ToString());
        return d.Length;
    }

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig()
        {
            AddColumn(new GbitPerSecondColumn());
            AddColumn(new ThroughputVsRawColumn());
        }
    }

    /// <summary>Inner-packet throughput of one core: 1280 × 8 bits per operation.</summary>
    private sealed class GbitPerSecondColumn : IColumn
    {
        public string Id => "GbitPerSecond";
        public string ColumnName => "Gbit/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Inner-packet throughput on one core (1280 B × 8 / mean time)";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
            return mean is > 0 ? (PacketSize * 8 / mean.Value).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "?";
        }
    }

    /// <summary>Throughput as a percentage of the raw AEAD baseline in the same run.</summary>
    private sealed class ThroughputVsRawColumn : IColumn
    {
        public string Id => "ThroughputVsRaw";
        public string ColumnName => "vs raw";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 1;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Throughput relative to raw ChaCha20Poly1305 seal+open (target >= 85 %)";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var baseline = summary.BenchmarksCases.FirstOrDefault(c => c.Descriptor.Baseline);
            var raw = baseline is null ? null : summary[baseline]?.ResultStatistics?.Mean;
            var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
            return raw is > 0 && mean is > 0 ? (raw.Value / mean.Value * 100).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " %" : "?";
        }
    }
}
