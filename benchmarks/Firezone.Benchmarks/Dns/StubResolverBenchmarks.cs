using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Model;

namespace Firezone.Benchmarks.Dns;

/// <summary>
/// Stub-resolver queries per second for names of DNS resources (A and AAAA, tunnel spec §4.7), in steady state (the
/// names already have their proxy addresses): 20 patterns, 256 names queried round-robin. Also the packet-path lookup
/// proxy IP → resource.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
[Config(typeof(OpsPerSecondConfig))]
public class StubResolverBenchmarks
{
    private const int Names = 256;
    private readonly byte[] _response = new byte[DnsMessages.MinResponseBufferLength];
    private readonly byte[][] _a = new byte[Names][];
    private readonly byte[][] _aaaa = new byte[Names][];
    private readonly byte[][] _proxies = new byte[Names][];
    private StubResolver _resolver = null!;
    private int _next;

    private sealed class OpsPerSecondConfig : ManualConfig
    {
        public OpsPerSecondConfig() => AddColumn(BenchmarkDotNet.Columns.StatisticColumn.OperationsPerSecond);
    }

    [GlobalSetup]
    public void Setup()
    {
        _resolver = new StubResolver();
        for (int i = 0; i < 20; i++)
        {
            _resolver.AddResource(new ResourceId(new Guid(i + 1, 0, 0, new byte[8])), i % 2 == 0 ? $"**.site{i}.example.com" : $"*.site{i}.example.com");
        }

        for (int i = 0; i < Names; i++)
        {
            string name = $"host{i}.site{i % 20}.example.com";
            _a[i] = Query(name, 1, (ushort)i);
            _aaaa[i] = Query(name, 28, (ushort)i);
            _resolver.Handle(_a[i], _response); // assigns the name's 8 proxies
            _proxies[i] = _response.AsSpan(12 + name.Length + 2 + 4 + 12, 4).ToArray(); // the first A record's address
        }
    }

    /// <summary>One A query for a resource name (answer: 4 proxy IPv4s).</summary>
    [Benchmark]
    public int A_query() => _resolver.Handle(_a[_next++ & (Names - 1)], _response).ResponseLength;

    /// <summary>One AAAA query for a resource name (answer: 4 proxy IPv6s).</summary>
    [Benchmark]
    public int Aaaa_query() => _resolver.Handle(_aaaa[_next++ & (Names - 1)], _response).ResponseLength;

    /// <summary>The packet path's proxy IP → resource lookup.</summary>
    [Benchmark]
    public bool Proxy_ip_to_resource() => _resolver.TryGetResourceByProxyIp(_proxies[_next++ & (Names - 1)], out _);

    private static byte[] Query(string name, ushort type, ushort id)
    {
        var m = new List<byte> { (byte)(id >> 8), (byte)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
        foreach (var label in name.Split('.'))
        {
            m.Add((byte)label.Length);
            m.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
        }

        m.AddRange([0, (byte)(type >> 8), (byte)type, 0, 1]);
        return [.. m];
    }
}
