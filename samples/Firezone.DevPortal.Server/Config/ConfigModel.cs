using System.Net;
using Firezone.Connlib.Model;

namespace Firezone.DevPortal.Config;

/// <summary>A site (the portal's gateway group).</summary>
/// <param name="Id">Its id.</param>
/// <param name="Name">Its name.</param>
public sealed record SiteConfig(SiteId Id, string Name);

/// <summary>A gateway the dev portal accepts: it logs in with <paramref name="Token"/> and serves the resources of its site.</summary>
/// <param name="Id">Its id (what clients are told).</param>
/// <param name="Token">Its secret token (unique among every token of the config).</param>
/// <param name="Site">The site it belongs to.</param>
/// <param name="IPv4">A fixed tunnel IPv4 address, or null to allocate one from 100.64.0.0/11.</param>
/// <param name="IPv6">A fixed tunnel IPv6 address, or null to allocate one from fd00:2021:1111::/107.</param>
/// <param name="FirezoneId">
/// The device id the gateway runs with (<c>FIREZONE_ID</c>); when set, its join must carry <c>external_id</c> = SHA-256
/// hex of it, and gateways with distinct ids may share one token (as a site token upstream).
/// </param>
public sealed record GatewayConfig(GatewayId Id, string Token, SiteId Site, IPAddress? IPv4 = null, IPAddress? IPv6 = null, string? FirezoneId = null)
{
    /// <summary>The <c>external_id</c> this gateway logs in with (lowercase hex SHA-256 of <see cref="FirezoneId"/>), or null.</summary>
    public string? ExternalId => FirezoneId is null
        ? null
        : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(FirezoneId)));
}

/// <summary>A client the dev portal accepts.</summary>
/// <param name="Id">Its id (what gateways are told).</param>
/// <param name="Token">Its secret token (unique among every token of the config).</param>
/// <param name="IPv4">A fixed tunnel IPv4 address, or null to allocate one from 100.64.0.0/11.</param>
/// <param name="IPv6">A fixed tunnel IPv6 address, or null to allocate one from fd00:2021:1111::/107.</param>
/// <param name="Resources">The resources it may use; null: all of them.</param>
public sealed record ClientConfig(ClientId Id, string Token, IPAddress? IPv4 = null, IPAddress? IPv6 = null, IReadOnlyList<ResourceId>? Resources = null);

/// <summary>A token relays may log in with (any number of relays may share it; each is told apart by its login query).</summary>
/// <param name="Token">The token.</param>
public sealed record RelayConfig(string Token);

/// <summary>The kind of a resource.</summary>
public enum ResourceKind
{
    /// <summary>A CIDR network.</summary>
    Cidr,

    /// <summary>A DNS name pattern (<c>*.corp.example</c>, <c>**.httpbin</c>, <c>gitlab.corp.example</c>).</summary>
    Dns,

    /// <summary>The internet resource.</summary>
    Internet,
}

/// <summary>A resource and the sites that serve it.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Kind">CIDR, DNS or internet.</param>
/// <param name="Address">The CIDR (host bits zero) or DNS pattern; null for the internet resource.</param>
/// <param name="Name">Its display name.</param>
/// <param name="AddressDescription">An optional description for UIs.</param>
/// <param name="Filters">The traffic the gateway lets through (empty: all).</param>
/// <param name="Sites">The sites whose gateways serve it.</param>
public sealed record ResourceConfig(
    ResourceId Id,
    ResourceKind Kind,
    string? Address,
    string Name,
    string? AddressDescription,
    IReadOnlyList<Filter> Filters,
    IReadOnlyList<SiteId> Sites)
{
    /// <summary>True when both describe the same resource (list contents compared, not references).</summary>
    public bool SameAs(ResourceConfig other) =>
        other is not null && Id == other.Id && Kind == other.Kind && Address == other.Address && Name == other.Name
        && AddressDescription == other.AddressDescription && Filters.SequenceEqual(other.Filters) && Sites.SequenceEqual(other.Sites);
}
