using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Model;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Testing.Tests;

/// <summary>The DNS record generators against tunnel spec §9.2.</summary>
public class DnsRecordGeneratorTests
{
    private static readonly Site OneSite = new(new SiteId(Guid.Parse("00000000-0000-0000-0000-000000000001")), "s");

    // The simplified matcher of the reference model (tunnel spec §9.3): exact; *.base = one extra label; **.base = one or more.
    private static bool Matches(string pattern, string name)
    {
        if (pattern.StartsWith("**.", StringComparison.Ordinal))
        {
            return name.EndsWith(pattern[2..], StringComparison.Ordinal) && name.Length > pattern.Length - 2;
        }

        if (pattern.StartsWith("*.", StringComparison.Ordinal))
        {
            return name.EndsWith(pattern[1..], StringComparison.Ordinal) && !name[..^(pattern.Length - 1)].Contains('.');
        }

        return name == pattern;
    }

    private static bool IsResourceAddress(IPAddress a) =>
        a.AddressFamily == AddressFamily.InterNetwork
            ? IPNetwork.Parse("198.51.100.0/24").Contains(a) && a.GetAddressBytes()[3] is not 0 and not 255
            : IPNetwork.Parse("2001:db80::/120").Contains(a);

    [Property(MaxTest = 500)]
    public Property Resource_names_match_their_pattern_with_1_to_5_distinct_documentation_addresses_spec_9_2() =>
        Prop.ForAll(ResourceGenerators.Dns([OneSite]).SelectMany(r => DnsRecordGenerators.ForResource(r).Select(m => (r, m))).ToArbitrary(), t =>
        {
            var (resource, records) = t;
            bool wildcard = resource.Address.StartsWith('*');
            Assert.InRange(records.Count, 1, wildcard ? 3 : 1);
            Assert.All(records, kv =>
            {
                Assert.True(Matches(resource.Address, kv.Key), $"{kv.Key} does not match {resource.Address}");
                Assert.Equal(wildcard, kv.Key != resource.Address);
                Assert.InRange(kv.Value.Count, 1, 5);
                Assert.Equal(kv.Value.Count, kv.Value.Select(r => r.Address).Distinct().Count());
                Assert.All(kv.Value, r =>
                {
                    Assert.True(IsResourceAddress(r.Address!), r.Address!.ToString());
                    Assert.Equal(r.Address!.AddressFamily == AddressFamily.InterNetwork ? SimDnsRecordType.A : SimDnsRecordType.Aaaa, r.Type);
                });
            });
            Assert.Equal(records.Keys.Order(StringComparer.Ordinal), records.Keys); // deterministic enumeration
        });

    [Property(MaxTest = 500)]
    public Property Global_records_are_0_to_4_names_with_1_to_5_public_addresses_or_oversized_txt_spec_9_2() =>
        Prop.ForAll(DnsRecordGenerators.Global.ToArbitrary(), records =>
        {
            Assert.InRange(records.Count, 0, 4);
            Assert.All(records.Values, list =>
            {
                Assert.InRange(list.Count, 1, 5);
                Assert.All(list, r =>
                {
                    if (r.Type == SimDnsRecordType.Txt)
                    {
                        Assert.InRange(r.Text.Count, 6, 10);
                        Assert.All(r.Text, s => Assert.Equal(255, s.Length));
                        Assert.True(r.Text.Sum(s => s.Length + 1) > 1336 - 40 - 8 - 12, "a TXT answer must not fit a UDP DNS answer");
                    }
                    else
                    {
                        Assert.False(IsReserved(r.Address!), r.Address!.ToString());
                    }
                });
            });
        });

    [Fact]
    public void Global_records_weigh_addresses_three_to_one_against_txt_spec_9_2()
    {
        var records = Samples.Draw(DnsRecordGenerators.GlobalRecord, 9, 8000);
        Assert.InRange(records.Count(r => r.Type == SimDnsRecordType.Txt), 1800, 2200); // 1/4 of 8,000, sd ≈ 39
        Assert.Contains(records, r => r.Type == SimDnsRecordType.Aaaa);
        Assert.Contains(records, r => r.Type == SimDnsRecordType.A);
    }

    [Fact]
    public void For_portal_merges_global_and_resource_records()
    {
        var resources = new ClientResource[]
        {
            new DnsResource(new ResourceId(Guid.Parse("00000000-0000-0000-0000-0000000000d1")), "app.example.com", "app", null, [OneSite]),
            new DnsResource(new ResourceId(Guid.Parse("00000000-0000-0000-0000-0000000000d2")), "*.svc.example.com", "svc", null, [OneSite]),
        };
        foreach (var records in Samples.Draw(DnsRecordGenerators.ForPortal(resources), 4, 100))
        {
            Assert.Contains("app.example.com", records.Keys);
            Assert.Contains(records.Keys, k => k.EndsWith(".svc.example.com", StringComparison.Ordinal));
        }
    }

    // Independent restatement of "non-reserved": .NET's own classification plus the IANA special-purpose blocks.
    private static bool IsReserved(IPAddress a)
    {
        if (IPAddress.IsLoopback(a) || a.IsIPv6LinkLocal || a.IsIPv6Multicast || a.IsIPv6SiteLocal || a.IsIPv6UniqueLocal)
        {
            return true;
        }

        byte[] b = a.GetAddressBytes();
        if (a.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return (b[0] & 0xE0) != 0x20 || (b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02) || (b[0] == 0x20 && b[1] == 0x02)
                || (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8);
        }

        return b[0] is 0 or 10 or 127 or >= 224 || (b[0] == 100 && b[1] >= 64 && b[1] < 128) || (b[0] == 169 && b[1] == 254)
            || (b[0] == 172 && b[1] >= 16 && b[1] < 32) || (b[0] == 192 && b[1] == 168) || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2)
            || (b[0] == 198 && b[1] is 18 or 19) || (b[0] == 198 && b[1] == 51 && b[2] == 100) || (b[0] == 203 && b[1] == 0 && b[2] == 113)
            || (b[0] == 192 && b[1] == 88 && b[2] == 99);
    }
}
