using Firezone.PhoenixChannel;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// The headless client's <c>device_serial</c> and <c>device_uuid</c> (hosts-and-tun.md §7.1): the SMBIOS system serial
/// number and UUID from <c>/sys/class/dmi/id</c> (readable by root). The placeholder serial <c>123456789</c> that many
/// virtual machines report is ignored, as upstream does; an unreadable value is left out.
/// </summary>
public static class SmbiosDeviceInfo
{
    /// <summary>Reads <c>product_serial</c> and <c>product_uuid</c> under <paramref name="dmiDirectory"/>.</summary>
    public static DeviceInfo Read(string dmiDirectory = "/sys/class/dmi/id")
    {
        ArgumentNullException.ThrowIfNull(dmiDirectory);
        string? serial = ReadValue(Path.Combine(dmiDirectory, "product_serial"));
        return new DeviceInfo(DeviceSerial: serial == "123456789" ? null : serial, DeviceUuid: ReadValue(Path.Combine(dmiDirectory, "product_uuid")));
    }

    private static string? ReadValue(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim() is { Length: > 0 } value ? value : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
