using System.Net;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Model;
using Ar = ARSoft.Tools.Net.Dns;
using static Firezone.Connlib.Tests.Dns.DnsTestMessages;

namespace Firezone.Connlib.Tests.Dns;

/// <summary>The stub resolver's rules of tunnel spec §4.7, one test per rule; responses are checked with ARSoft.Tools.Net.</summary>
public sealed class StubResolverTests
{
    private static readonly ResourceId R1 = new(Guid.Parse("00000000-0000-0000-0000-000000000001"));
    private static readonly ResourceId R2 = new(Guid.Parse("00000000-0000-0000-0000-000000000002"));

    private static IPAddress[] Ips(params string[] ips) => [.. ips.Select(IPAddress.Parse)];

    private static List<IPAddress> Addresses(Ar.DnsMessage response) =>
        [.. response.AnswerRecords.Select(r => r switch { Ar.ARecord a => a.Address, Ar.AaaaRecord a => a.Address, _ => throw new InvalidOperationException(r.ToString()) })];

    private static Ar.DnsMessage LocalAnswer(StubResolver resolver, string name, DnsRecordType type)
    {
        var (result, response) = Resolve(resolver, Query(name, type));
        Assert.Equal(DnsResolutionKind.LocalAnswer, result.Kind);
        return Parse(response);
    }

    [Fact]
    public void A_for_a_resource_name_answers_the_first_four_ipv4_proxies()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "*.example.com");
        var response = LocalAnswer(resolver, "app.example.com", DnsRecordType.A);
        Assert.Equal(Ips("100.96.0.1", "100.96.0.2", "100.96.0.3", "100.96.0.4"), Addresses(response));
    }

    [Fact]
    public void Aaaa_for_a_resource_name_answers_the_first_four_ipv6_proxies_from_the_network_address()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "*.example.com");
        var response = LocalAnswer(resolver, "app.example.com", DnsRecordType.Aaaa);
        Assert.Equal(Ips("fd00:2021:1111:8000::", "fd00:2021:1111:8000::1", "fd00:2021:1111:8000::2", "fd00:2021:1111:8000::3"), Addresses(response));
    }

    [Fact]
    public void Local_answers_copy_id_and_question_set_qr_ra_noerror_class_in_and_ttl_1s()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "app.example.com");
        var (_, bytes) = Resolve(resolver, Query("App.Example.com", DnsRecordType.A, id: 0x4242));
        var response = Parse(bytes);
        Assert.Equal(0x4242, response.TransactionID);
        Assert.False(response.IsQuery);
        Assert.True(response.IsRecursionAllowed);
        Assert.True(response.IsRecursionDesired);
        Assert.Equal(Ar.ReturnCode.NoError, response.ReturnCode);
        var question = Assert.Single(response.Questions);
        Assert.Equal("App.Example.com.", question.Name.ToString());
        Assert.Equal(Ar.RecordType.A, question.RecordType);
        Assert.All(response.AnswerRecords, r =>
        {
            Assert.Equal(Ar.RecordClass.INet, r.RecordClass);
            Assert.Equal(1, r.TimeToLive);
            Assert.Equal("App.Example.com.", r.Name.ToString());
        });
    }

    [Fact]
    public void A_and_aaaa_share_one_allocation_of_4_plus_4_on_the_first_query()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "**.example.com");
        var v6 = Addresses(LocalAnswer(resolver, "a.example.com", DnsRecordType.Aaaa));
        var v4 = Addresses(LocalAnswer(resolver, "a.example.com", DnsRecordType.A));
        var other = Addresses(LocalAnswer(resolver, "b.example.com", DnsRecordType.A));
        Assert.Equal(Ips("100.96.0.1", "100.96.0.2", "100.96.0.3", "100.96.0.4"), v4);
        Assert.Equal(Ips("100.96.0.5", "100.96.0.6", "100.96.0.7", "100.96.0.8"), other);
        Assert.Equal(v4.Concat(v6), resolver.GetResolveRequest(v6[2])!.ProxyIps);
        Assert.Equal("a.example.com", resolver.GetResolveRequest(v4[0])!.Name);
    }

    [Fact]
    public void Names_compare_case_insensitively()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "*.Example.com");
        var upper = Addresses(LocalAnswer(resolver, "APP.EXAMPLE.COM", DnsRecordType.A));
        var lower = Addresses(LocalAnswer(resolver, "app.example.com", DnsRecordType.A));
        Assert.Equal(upper, lower);
    }

    [Fact]
    public void Proxy_ips_survive_resource_removal_and_every_query_retags_them_with_the_matching_resource()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "app.example.com");
        var first = Addresses(LocalAnswer(resolver, "app.example.com", DnsRecordType.A));
        Assert.True(resolver.TryGetResourceByProxyIp(first[0], out var tagged));
        Assert.Equal(R1, tagged);

        resolver.RemoveResource(R1);
        Assert.False(resolver.KnowsResource(R1));
        Assert.True(resolver.TryGetResourceByProxyIp(first[3], out tagged)); // still handed out, still tagged R1
        Assert.Equal(R1, tagged);
        var (recursed, _) = Resolve(resolver, Query("app.example.com", DnsRecordType.A));
        Assert.Equal(DnsResolutionKind.Recurse, recursed.Kind); // no pattern matches any more

        resolver.AddResource(R2, "*.example.com");
        var again = Addresses(LocalAnswer(resolver, "app.example.com", DnsRecordType.Aaaa));
        Assert.Equal(resolver.GetResolveRequest(first[0])!.ProxyIps.Skip(4), again);
        foreach (var ip in resolver.GetResolveRequest(first[0])!.ProxyIps)
        {
            Assert.True(resolver.TryGetResourceByProxyIp(ip, out tagged));
            Assert.Equal(R2, tagged); // all 8 re-tagged by the AAAA query
        }
    }

    [Fact]
    public void Https_on_a_resource_name_is_noerror_without_answers()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "app.example.com");
        var response = LocalAnswer(resolver, "app.example.com", DnsRecordType.Https);
        Assert.Equal(Ar.ReturnCode.NoError, response.ReturnCode);
        Assert.Empty(response.AnswerRecords);
        Assert.Equal(0, resolver.NameCount); // HTTPS assigns nothing
    }

    [Theory]
    [InlineData((ushort)DnsRecordType.Mx)]
    [InlineData((ushort)DnsRecordType.Txt)]
    [InlineData((ushort)DnsRecordType.Srv)]
    [InlineData((ushort)DnsRecordType.Cname)]
    public void Other_types_on_a_resource_name_recurse(ushort qtype)
    {
        var type = (DnsRecordType)qtype;
        var resolver = new StubResolver();
        resolver.AddResource(R1, "app.example.com");
        var (result, _) = Resolve(resolver, Query("app.example.com", type, id: 9));
        Assert.Equal(new DnsResolution(DnsResolutionKind.Recurse, 0, 9, type), result);
    }

    [Theory]
    [InlineData((ushort)DnsRecordType.A)]
    [InlineData((ushort)DnsRecordType.Aaaa)]
    [InlineData((ushort)DnsRecordType.Https)]
    public void No_match_recurses(ushort qtype)
    {
        var type = (DnsRecordType)qtype;
        var resolver = new StubResolver();
        resolver.AddResource(R1, "app.example.com");
        Assert.Equal(DnsResolutionKind.Recurse, Resolve(resolver, Query("other.example.com", type)).Result.Kind);
    }

    [Fact]
    public void Ptr_of_a_handed_out_proxy_answers_the_name_for_both_families()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "*.example.com");
        LocalAnswer(resolver, "App.example.com", DnsRecordType.A);
        var response = LocalAnswer(resolver, "3.0.96.100.in-addr.arpa", DnsRecordType.Ptr);
        var ptr = Assert.IsType<Ar.PtrRecord>(Assert.Single(response.AnswerRecords));
        Assert.Equal("app.example.com.", ptr.PointerDomainName.ToString());
        Assert.Equal("3.0.96.100.in-addr.arpa.", ptr.Name.ToString());

        string v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.1.1.1.1.1.2.0.2.0.0.d.f.ip6.arpa"; // fd00:2021:1111:8000::1
        ptr = Assert.IsType<Ar.PtrRecord>(Assert.Single(LocalAnswer(resolver, v6, DnsRecordType.Ptr).AnswerRecords));
        Assert.Equal("app.example.com.", ptr.PointerDomainName.ToString());
    }

    [Theory]
    [InlineData("9.0.96.100.in-addr.arpa")] // a proxy address never handed out
    [InlineData("1.1.1.1.in-addr.arpa")]
    [InlineData("0.3.0.96.100.in-addr.arpa")] // extra label
    [InlineData("app.example.com")] // PTR of a resource name: not a reverse name
    public void Ptr_of_anything_else_recurses(string name)
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "*.example.com");
        LocalAnswer(resolver, "app.example.com", DnsRecordType.A);
        Assert.Equal(DnsResolutionKind.Recurse, Resolve(resolver, Query(name, DnsRecordType.Ptr)).Result.Kind);
    }

    [Fact]
    public void Query_for_doh_canary_domain_records_nx_domain()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "**.net");
        var response = LocalAnswer(resolver, "use-application-dns.net", DnsRecordType.A);
        Assert.Equal(Ar.ReturnCode.NxDomain, response.ReturnCode);
        Assert.Empty(response.AnswerRecords);
        Assert.Equal("use-application-dns.net.", Assert.Single(response.Questions).Name.ToString());
    }

    [Fact]
    public void Doh_canary_domain_parses_correctly()
    {
        Span<byte> wire = stackalloc byte[255];
        Assert.True(DnsName.TryEncode(DnsRanges.DohCanaryDomain, wire, out int n));
        Span<char> text = stackalloc char[64];
        Assert.Equal("use-application-dns.net", text[..DnsName.FormatPresentation(wire[..n], text, lowercase: false)].ToString());
    }

    [Fact]
    public void Known_hosts_answer_a_aaaa_and_ptr_before_resources()
    {
        var hosts = new Dictionary<string, IReadOnlyList<IPAddress>>
        {
            ["host.example.com"] = Ips("198.18.0.7", "2001:2::7"),
            ["v4only.example.com"] = Ips("198.18.0.8"),
        };
        var resolver = new StubResolver(hosts);
        resolver.AddResource(R1, "**.example.com");
        Assert.Equal(Ips("198.18.0.7"), Addresses(LocalAnswer(resolver, "HOST.example.com", DnsRecordType.A)));
        Assert.Equal(Ips("2001:2::7"), Addresses(LocalAnswer(resolver, "host.example.com", DnsRecordType.Aaaa)));
        Assert.Empty(LocalAnswer(resolver, "v4only.example.com", DnsRecordType.Aaaa).AnswerRecords);
        var ptr = Assert.IsType<Ar.PtrRecord>(Assert.Single(LocalAnswer(resolver, "7.0.18.198.in-addr.arpa", DnsRecordType.Ptr).AnswerRecords));
        Assert.Equal("host.example.com.", ptr.PointerDomainName.ToString());
        Assert.Equal(0, resolver.NameCount); // the resource pattern was never consulted for them
    }

    [Fact]
    public void Responses_are_servfail()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "app.example.com");
        var query = Query(1, 0x8100, ("app.example.com", 1));
        var response = Parse(Resolve(resolver, query).Response);
        Assert.Equal(Ar.ReturnCode.ServerFailure, response.ReturnCode);
        Assert.Single(response.Questions);
    }

    [Fact]
    public void Multi_question_messages_are_servfail()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "app.example.com");
        var response = Parse(Resolve(resolver, Query(1, 0x0100, ("app.example.com", 1), ("app.example.com", 28))).Response);
        Assert.Equal(Ar.ReturnCode.ServerFailure, response.ReturnCode);
        Assert.Equal(2, response.Questions.Count);
        Assert.Equal(0, resolver.NameCount);
    }

    [Fact]
    public void No_question_is_servfail_and_less_than_a_header_is_dropped()
    {
        var resolver = new StubResolver();
        Assert.Equal(Ar.ReturnCode.ServerFailure, Parse(Resolve(resolver, Query(3, 0)).Response).ReturnCode);
        Assert.Equal(DnsResolution.Drop, Resolve(resolver, new byte[11]).Result);
    }

    [Fact]
    public void Reregistering_a_pattern_repoints_it_and_reports_not_added()
    {
        var resolver = new StubResolver();
        Assert.True(resolver.AddResource(R1, "app.example.com"));
        Assert.False(resolver.AddResource(R2, "app.example.com"));
        Assert.False(resolver.KnowsResource(R1));
        Assert.True(resolver.KnowsResource(R2));
        var ip = Addresses(LocalAnswer(resolver, "app.example.com", DnsRecordType.A))[0];
        Assert.True(resolver.TryGetResourceByProxyIp(ip, out var tagged));
        Assert.Equal(R2, tagged);
    }

    [Fact]
    public void Unregister_removes_every_pattern_of_the_resource()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "a.example.com");
        resolver.AddResource(R1, "b.example.com");
        resolver.AddResource(R2, "c.example.com");
        resolver.RemoveResource(R1);
        Assert.Equal([("c.example.com", R2)], resolver.Patterns);
    }

    [Fact]
    public void Invalid_patterns_are_not_added() => Assert.False(new StubResolver().AddResource(R1, "a..b"));

    [Fact]
    public void Prioritises_non_wildcard_over_wildcard_domain()
    {
        var resolver = new StubResolver();
        resolver.AddResource(R1, "**.example.com");
        resolver.AddResource(R2, "foo.example.com");
        Assert.Equal(R2, resolver.MatchLinear("foo.example.com"));
        Assert.Equal(R1, resolver.MatchLinear("bar.example.com"));
    }

    [Fact]
    public void Patterns_are_kept_in_priority_order_and_the_first_match_wins()
    {
        string[] order =
        [
            "example.com", "bar.example.com", "*.bar.example.com", "foo.example.com", "?.example.com", "*.example.com",
            "**.example.com", "*ample.com", "*.com",
        ];
        var resolver = new StubResolver();
        var ids = order.Select((_, i) => new ResourceId(new Guid(i + 1, 0, 0, new byte[8]))).ToArray();
        foreach (int i in new[] { 6, 1, 3, 0, 7, 2, 4, 8, 5 })
        {
            resolver.AddResource(ids[i], order[i]);
        }

        Assert.Equal(order, resolver.Patterns.Select(p => p.Pattern));
        Assert.Equal(ids[4], resolver.MatchLinear("x.example.com")); // `?.` before `*.` and `**.`
        Assert.Equal(ids[5], resolver.MatchLinear("xy.example.com"));
        Assert.Equal(ids[6], resolver.MatchLinear("a.b.example.com"));
        Assert.Equal(ids[7], resolver.MatchLinear("sample.com"));
        Assert.Equal(ids[8], resolver.MatchLinear("other.com"));
    }

    [Fact]
    public void Proxy_lookups_say_whether_an_address_was_handed_out()
    {
        var resolver = new StubResolver();
        Assert.False(resolver.TryGetResourceByProxyIp(IPAddress.Parse("100.96.0.1"), out _));
        Assert.Null(resolver.GetResolveRequest(IPAddress.Parse("100.96.0.1")));
        resolver.AddResource(R1, "app.example.com");
        LocalAnswer(resolver, "app.example.com", DnsRecordType.A);
        Assert.True(resolver.TryGetResourceByProxyIp([100, 96, 0, 4], out _));
        Assert.False(resolver.TryGetResourceByProxyIp([100, 96, 0, 5], out _));
        Assert.False(resolver.TryGetResourceByProxyIp([1, 2, 3], out _));
    }

    [Fact]
    public void Exhaustion_logs_an_error_and_yields_fewer_addresses()
    {
        var logger = new ListLogger();
        var allocator = new ProxyIpAllocator(IPNetwork.Parse("100.96.0.0/29"), IPNetwork.Parse("fd00:2021:1111:8000::/126"));
        var resolver = new StubResolver(logger: logger, allocator: allocator);
        resolver.AddResource(R1, "**.example.com");
        Assert.Equal(4, Addresses(LocalAnswer(resolver, "a.example.com", DnsRecordType.A)).Count);
        Assert.Empty(logger.Errors);
        Assert.Equal(Ips("100.96.0.5", "100.96.0.6"), Addresses(LocalAnswer(resolver, "b.example.com", DnsRecordType.A)));
        Assert.Empty(Addresses(LocalAnswer(resolver, "b.example.com", DnsRecordType.Aaaa)));
        Assert.Contains(logger.Errors, e => e.Contains("IP exhaustion", StringComparison.Ordinal));
    }
}
