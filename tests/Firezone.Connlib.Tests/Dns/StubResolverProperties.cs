using System.Net;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Model;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Ar = ARSoft.Tools.Net.Dns;
using static Firezone.Connlib.Tests.Dns.DnsTestMessages;

namespace Firezone.Connlib.Tests.Dns;

/// <summary>FsCheck properties of the stub resolver: answers against a reference model, and garbage never throws.</summary>
public sealed class StubResolverProperties
{
    private static readonly string[] Labels = ["a", "b", "app", "web", "x1"];
    private static readonly string[] PatternPool = ["**.a.test", "*.b.test", "app.test", "*.test", "web.**.test", "x1.a.test", "?.b.test"];

    /// <summary>A query: name built from labels under <c>.test</c>, random letter case, A or AAAA (or PTR of a random proxy seen so far).</summary>
    public static Arbitrary<(string Name, bool V6)[]> Queries() =>
        Gen.ListOf(
                Gen.Zip(
                    Gen.Zip(Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Gen.Elements(Labels), n)), Gen.Elements(true, false)),
                    Gen.Elements(true, false)))
            .Select(l => l.Select(t => (Name: Case(string.Join('.', t.Item1.Item1) + ".test", t.Item1.Item2), V6: t.Item2)).ToArray())
            .ToArbitrary();

    private static string Case(string name, bool upper) => upper ? name.ToUpperInvariant() : name;

    /// <summary>
    /// (a) Every answer for a resource name carries exactly 4 proxy IPs of the asked family, all inside the proxy range
    /// and outside the sentinel range; the same name (any case) always gets the same 8 IPs; two names never share an
    /// IP; PTR of every handed-out IP gives the name back; the IPs resolve back to the name and the currently matching
    /// resource. Reference model: a dictionary name → the IPs first answered.
    /// </summary>
    [Property(MaxTest = 1_000, Arbitrary = [typeof(StubResolverProperties)])]
    public void Resource_answers_use_only_proxy_ips_and_resolve_back_consistently((string Name, bool V6)[] queries, bool[] patternMask)
    {
        var resolver = new StubResolver();
        var patterns = new List<(string Pattern, ResourceId Id)>();
        for (int i = 0; i < PatternPool.Length; i++)
        {
            if (patternMask is null || patternMask.Length == 0 || patternMask[i % patternMask.Length])
            {
                var id = new ResourceId(new Guid(i + 1, 0, 0, new byte[8]));
                resolver.AddResource(id, PatternPool[i]);
                patterns.Add((PatternPool[i], id));
            }
        }

        var model = new Dictionary<string, List<IPAddress>>(); // lowercase name → v4s then v6s
        var owner = new Dictionary<IPAddress, string>();
        foreach (var (name, v6) in queries)
        {
            string lower = name.ToLowerInvariant();
            var (result, bytes) = Resolve(resolver, Query(name, v6 ? DnsRecordType.Aaaa : DnsRecordType.A));
            var expectedResource = patterns.Where(p => DomainPattern.Parse(p.Pattern).Matches(lower))
                .OrderBy(p => p.Pattern, DomainPattern.PriorityComparer).Select(p => (ResourceId?)p.Id).FirstOrDefault();
            if (expectedResource is null)
            {
                Assert.Equal(DnsResolutionKind.Recurse, result.Kind);
                continue;
            }

            Assert.Equal(DnsResolutionKind.LocalAnswer, result.Kind);
            var answer = Parse(bytes);
            var ips = answer.AnswerRecords.Select(r => v6 ? ((Ar.AaaaRecord)r).Address : ((Ar.ARecord)r).Address).ToList();
            Assert.Equal(4, ips.Count);
            Assert.All(ips, ip =>
            {
                Assert.True(v6 ? DnsRanges.ResourcesV6.Contains(ip) : DnsRanges.ResourcesV4.Contains(ip));
                Assert.False(DnsRanges.IsSentinel(ip));
            });

            var request = resolver.GetResolveRequest(ips[0])!;
            Assert.Equal(lower, request.Name);
            Assert.Equal(8, request.ProxyIps.Count);
            Assert.Equal(ips, request.ProxyIps.Skip(v6 ? 4 : 0).Take(4));
            if (model.TryGetValue(lower, out var known))
            {
                Assert.Equal(known, request.ProxyIps);
            }
            else
            {
                model[lower] = [.. request.ProxyIps];
                foreach (var ip in request.ProxyIps)
                {
                    Assert.True(owner.TryAdd(ip, lower), $"{ip} handed out twice");
                }
            }

            foreach (var ip in request.ProxyIps)
            {
                Assert.True(resolver.TryGetResourceByProxyIp(ip, out var tagged));
                Assert.Equal(expectedResource, tagged);
                var ptr = Parse(Resolve(resolver, Query(ReverseName(ip), DnsRecordType.Ptr)).Response);
                Assert.Equal(lower + ".", Assert.IsType<Ar.PtrRecord>(Assert.Single(ptr.AnswerRecords)).PointerDomainName.ToString());
            }
        }

        Assert.Equal(model.Count, resolver.NameCount);
    }

    /// <summary>
    /// (b) 10,000 mutated and random messages: the resolver, the error builders, the query reader and the truncation
    /// never throw and stay inside their buffers; whenever the independent parser (ARSoft.Tools.Net) reads a message as
    /// a query with one plain question, our cheap reader agrees on id, type and name.
    /// </summary>
    [Property(MaxTest = 10_000)]
    public void Garbage_and_mutated_messages_never_throw(int seed, byte pick)
    {
        var random = new Random(seed);
        var message = Mutate(Corpus[pick % Corpus.Length], random);
        var resolver = SharedResolver.Value;
        var response = new byte[DnsMessages.MinResponseBufferLength];
        var result = resolver.Handle(message, response);
        Assert.InRange(result.ResponseLength, 0, response.Length);
        if (result.Kind == DnsResolutionKind.LocalAnswer)
        {
            Assert.True(result.ResponseLength >= DnsHeader.Length);
        }

        Assert.InRange(DnsMessages.WriteServFail(message, response), 0, response.Length);
        Assert.InRange(DnsMessages.WriteNxDomain(message, new byte[DnsHeader.Length]), 0, DnsHeader.Length);
        var copy = message.Concat(new byte[random.Next(0, 1500)]).ToArray();
        Assert.InRange(DnsMessages.TruncateForUdp(copy), 0, copy.Length);

        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        bool ours = DnsMessages.TryReadQuery(message, name, out var header, out var question);
        Ar.DnsMessage? theirs = null;
        try
        {
            theirs = Ar.DnsMessage.Parse(new ArraySegment<byte>(message));
        }
        catch (Exception)
        {
            // The library throws on malformed input: acceptable for an oracle (we would catch at the boundary).
        }

        if (theirs is { Questions.Count: > 0 } && theirs.Questions[0].Name.Labels.All(l => l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')))
        {
            Assert.True(ours);
            Assert.Equal(theirs.TransactionID, header.Id);
            Assert.Equal((ushort)theirs.Questions[0].RecordType, (ushort)question.Type);
            Span<char> text = stackalloc char[DnsName.MaxPresentationLength];
            int n = DnsName.FormatPresentation(name[..question.NameLength], text, lowercase: true);
            Assert.Equal(string.Join('.', theirs.Questions[0].Name.Labels).ToLowerInvariant(), text[..n].ToString());
        }
    }

    [Fact]
    public void Handle_allocates_nothing_per_query_for_resource_names_in_steady_state()
    {
        var resolver = new StubResolver();
        resolver.AddResource(new ResourceId(Guid.NewGuid()), "**.example.com");
        resolver.AddResource(new ResourceId(Guid.NewGuid()), "*.other.test");
        byte[][] queries =
        [
            Query("app.example.com", DnsRecordType.A), Query("APP.example.com", DnsRecordType.Aaaa),
            Query("app.example.com", DnsRecordType.Https), Query("app.example.com", DnsRecordType.Mx),
            Query("4.0.96.100.in-addr.arpa", DnsRecordType.Ptr), Query("unknown.org", DnsRecordType.A),
            Query(1, 0x8000, ("app.example.com", 1)), Query("use-application-dns.net", DnsRecordType.A),
        ];
        var response = new byte[DnsMessages.MinResponseBufferLength];
        foreach (var q in queries)
        {
            resolver.Handle(q, response); // warm-up: assigns the name's addresses once
        }

        byte[] proxy = [100, 96, 0, 2];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            foreach (var q in queries)
            {
                resolver.Handle(q, response);
            }

            resolver.TryGetResourceByProxyIp(proxy, out _);
            resolver.GetResolveRequest(proxy);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static readonly Lazy<StubResolver> SharedResolver = new(() =>
    {
        var r = new StubResolver(new Dictionary<string, IReadOnlyList<IPAddress>> { ["host.test"] = [IPAddress.Parse("198.18.0.1")] });
        r.AddResource(new ResourceId(Guid.NewGuid()), "**.example.com");
        r.AddResource(new ResourceId(Guid.NewGuid()), "*.a.test");
        return r;
    });

    private static readonly byte[][] Corpus =
    [
        Query("app.example.com", DnsRecordType.A), Query("app.example.com", DnsRecordType.Aaaa),
        Query("x.a.test", DnsRecordType.Https), Query("1.0.96.100.in-addr.arpa", DnsRecordType.Ptr),
        Query("host.test", DnsRecordType.A), Query("use-application-dns.net", DnsRecordType.A),
        Query(1, 0x0100, ("a.example.com", 1), ("b.example.com", 28)), Query(2, 0x8180, ("app.example.com", 1)),
        CompressedResponse(), [],
    ];

    private static byte[] CompressedResponse()
    {
        var m = new List<byte>(Query(7, 0x8180, ("www.example.com", 1)));
        m[7] = 1;
        m.AddRange([0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 1]);
        return [.. m];
    }

    private static byte[] Mutate(byte[] original, Random random)
    {
        var m = new List<byte>(original);
        int kind = random.Next(6);
        switch (kind)
        {
            case 0: // pure noise
                m = [.. Enumerable.Range(0, random.Next(0, 600)).Select(_ => (byte)random.Next(256))];
                break;
            case 1: // truncate
                if (m.Count > 0)
                {
                    int keep = random.Next(m.Count);
                    m.RemoveRange(keep, m.Count - keep);
                }

                break;
            default: // flip, overwrite, insert bytes; counts and label lengths are favourite targets
                for (int i = random.Next(1, 6); i > 0 && m.Count > 0; i--)
                {
                    int at = random.Next(m.Count);
                    switch (random.Next(4))
                    {
                        case 0: m[at] ^= (byte)(1 << random.Next(8)); break;
                        case 1: m[at] = (byte)random.Next(256); break;
                        case 2: m.Insert(at, (byte)random.Next(256)); break;
                        default: m[Math.Min(m.Count - 1, random.Next(4, 12))] = (byte)random.Next(4); break;
                    }
                }

                break;
        }

        return [.. m];
    }

    private static string ReverseName(IPAddress ip)
    {
        var bytes = ip.GetAddressBytes();
        return bytes.Length == 4
            ? string.Join('.', bytes.Reverse()) + ".in-addr.arpa"
            : string.Join('.', bytes.Reverse().SelectMany(b => new[] { b & 0xF, b >> 4 }).Select(n => n.ToString("x"))) + ".ip6.arpa";
    }
}
