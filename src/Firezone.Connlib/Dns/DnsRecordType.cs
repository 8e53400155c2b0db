namespace Firezone.Connlib.Dns;

/// <summary>The DNS record types the tunnel looks at (RFC 1035, 3596, 2782, 9460); any other value is passed through.</summary>
internal enum DnsRecordType : ushort
{
    /// <summary>An IPv4 address.</summary>
    A = 1,

    /// <summary>A name server.</summary>
    Ns = 2,

    /// <summary>A canonical name.</summary>
    Cname = 5,

    /// <summary>Start of authority.</summary>
    Soa = 6,

    /// <summary>A domain name pointer (reverse lookups).</summary>
    Ptr = 12,

    /// <summary>A mail exchange.</summary>
    Mx = 15,

    /// <summary>Text strings.</summary>
    Txt = 16,

    /// <summary>An IPv6 address.</summary>
    Aaaa = 28,

    /// <summary>A service locator.</summary>
    Srv = 33,

    /// <summary>The EDNS(0) pseudo-record.</summary>
    Opt = 41,

    /// <summary>Service binding for HTTPS (RFC 9460).</summary>
    Https = 65,
}

/// <summary>The response codes the tunnel writes (RFC 1035 §4.1.1).</summary>
internal enum DnsResponseCode : byte
{
    /// <summary>No error.</summary>
    NoError = 0,

    /// <summary>The server could not parse the query.</summary>
    FormErr = 1,

    /// <summary>The server failed to answer.</summary>
    ServFail = 2,

    /// <summary>The name does not exist.</summary>
    NxDomain = 3,
}
