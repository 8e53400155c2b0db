namespace Firezone.Connlib.Model;

/// <summary>A site (the portal's "gateway group"): equality and hashing use the id only, as upstream.</summary>
/// <param name="Id">The site's id.</param>
/// <param name="Name">Its display name.</param>
public sealed record Site(SiteId Id, string Name)
{
    /// <inheritdoc/>
    public bool Equals(Site? other) => other is not null && other.Id == Id;

    /// <inheritdoc/>
    public override int GetHashCode() => Id.GetHashCode();
}

/// <summary>Whether a resource (or site) can be reached.</summary>
public enum ResourceStatus
{
    /// <summary>Not known yet (no connection attempt, or the last one ended).</summary>
    Unknown,

    /// <summary>A connection to a gateway of one of its sites is established.</summary>
    Online,

    /// <summary>The portal said every site of the resource is offline.</summary>
    Offline,
}
