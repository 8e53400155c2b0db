using System.Net;

namespace Firezone.Connlib.Model;

/// <summary>
/// A resource as the client knows it (tunnel spec §3; portal <c>init</c>/<c>resource_created_or_updated</c>): a DNS
/// pattern, a CIDR network or the internet. Records compare by value except <see cref="Sites"/>, which compares by
/// reference; use <see cref="HasSameAddress"/> for the "address changed" rule of tunnel spec §4.2.
/// </summary>
public abstract record ClientResource
{
    private protected ClientResource(ResourceId id, string name, IReadOnlyList<Site> sites)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(sites);
        Id = id;
        Name = name;
        Sites = sites;
    }

    /// <summary>The resource's id.</summary>
    public ResourceId Id { get; }

    /// <summary>Its display name.</summary>
    public string Name { get; }

    /// <summary>The sites (gateway groups) that serve it.</summary>
    public IReadOnlyList<Site> Sites { get; }

    /// <summary>True when <paramref name="other"/> is of the same kind with the same address (a rename does not count).</summary>
    public abstract bool HasSameAddress(ClientResource other);
}

/// <summary>A DNS resource: every name matching <see cref="Address"/> (a domain pattern such as <c>*.corp.example</c>).</summary>
public sealed record DnsResource : ClientResource
{
    /// <summary>Creates a DNS resource.</summary>
    public DnsResource(ResourceId id, string address, string name, string? addressDescription, IReadOnlyList<Site> sites)
        : base(id, name, sites)
    {
        ArgumentNullException.ThrowIfNull(address);
        Address = address;
        AddressDescription = addressDescription;
    }

    /// <summary>The domain pattern.</summary>
    public string Address { get; }

    /// <summary>An optional description of the address for UIs.</summary>
    public string? AddressDescription { get; }

    /// <inheritdoc/>
    public override bool HasSameAddress(ClientResource other) => other is DnsResource d && d.Address == Address;
}

/// <summary>A CIDR resource: every address of <see cref="Address"/>.</summary>
public sealed record CidrResource : ClientResource
{
    /// <summary>Creates a CIDR resource.</summary>
    public CidrResource(ResourceId id, IPNetwork address, string name, string? addressDescription, IReadOnlyList<Site> sites)
        : base(id, name, sites)
    {
        Address = address;
        AddressDescription = addressDescription;
    }

    /// <summary>The network (host bits zero).</summary>
    public IPNetwork Address { get; }

    /// <summary>An optional description of the address for UIs.</summary>
    public string? AddressDescription { get; }

    /// <inheritdoc/>
    public override bool HasSameAddress(ClientResource other) => other is CidrResource c && c.Address.Equals(Address);
}

/// <summary>The internet resource: everything not covered by another resource (routes <c>0.0.0.0/0</c> and <c>::/0</c>).</summary>
public sealed record InternetResource : ClientResource
{
    /// <summary>The portal's default name.</summary>
    public const string DefaultName = "Internet Resource";

    /// <summary>Creates the internet resource.</summary>
    public InternetResource(ResourceId id, string name, IReadOnlyList<Site> sites)
        : base(id, name, sites)
    {
    }

    /// <inheritdoc/>
    public override bool HasSameAddress(ClientResource other) => other is InternetResource;
}
