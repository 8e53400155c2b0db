using Firezone.Connlib.Model;
using FsCheck.Xunit;

namespace Firezone.Connlib.Tests.Model;

public sealed class IdTests
{
    /// <summary>Ids order like upstream's UUIDs: by the canonical (big-endian) text, not by <see cref="Guid.CompareTo(Guid)"/>.</summary>
    [Property(MaxTest = 500)]
    public void Ids_order_by_their_canonical_text(Guid a, Guid b)
    {
        int expected = Math.Sign(string.CompareOrdinal(a.ToString("D"), b.ToString("D")));
        Assert.Equal(expected, Math.Sign(new ResourceId(a).CompareTo(new ResourceId(b))));
        Assert.Equal(expected, Math.Sign(new GatewayId(a).CompareTo(new GatewayId(b))));
    }

    [Fact]
    public void Ids_print_as_lowercase_hyphenated_uuids() =>
        Assert.Equal("0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10", new ResourceId(Guid.Parse("0B6C5A1E-3F0E-4C55-9A55-6E7B1C3D2A10")).ToString());

    [Fact]
    public void Sites_are_equal_by_id_only()
    {
        var id = new SiteId(Guid.NewGuid());
        Assert.Equal(new Site(id, "HQ"), new Site(id, "Renamed"));
    }
}
