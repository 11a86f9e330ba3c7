using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace WatchStat.WeCom.Callbacks;

/// <summary>
/// A decrypted WeCom callback event. The named properties are the ones WatchStat reads (a live's
/// <c>living_status_change</c> carries LivingId and Status); <see cref="Fields"/> holds every top-level element that has text.
/// </summary>
public sealed record WeComCallbackEvent(
    string? MsgType,
    string? Event,
    string? ToUserName,
    string? FromUserName,
    long? CreateTime,
    string? AgentId,
    string? LivingId,
    int? Status,
    IReadOnlyDictionary<string, string> Fields);

/// <summary>
/// The XML around WeCom callbacks: the POST body that carries <c>Encrypt</c>, and the event it decrypts to.
/// Read without DTDs, resolvers or more than <see cref="MaxCharacters"/>, since the body is untrusted until verified.
/// </summary>
public static class WeComCallbackEnvelope
{
    /// <summary>The largest body or event read: WeCom's callbacks are a few hundred bytes, so 64 KiB is generous.</summary>
    public const int MaxCharacters = 64 * 1024;

    /// <summary>The <c>Encrypt</c> text of a callback POST body, exactly as signed (CDATA or plain text).</summary>
    public static string ReadEncrypt(string body)
    {
        var root = LoadRoot(body, "The callback body");
        var encrypts = root.Elements("Encrypt").ToList();
        if (encrypts.Count != 1 || encrypts[0].HasElements || encrypts[0].Value.Length == 0)
            throw Bad("The callback body has no single, non-empty Encrypt element.");
        return encrypts[0].Value;
    }

    /// <summary>Parses a decrypted event; numbers that do not parse are left null rather than refusing the event.</summary>
    public static WeComCallbackEvent ParseEvent(string xml)
    {
        var root = LoadRoot(xml, "The decrypted callback event");
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var element in root.Elements().Where(e => !e.HasElements))
            fields.TryAdd(element.Name.LocalName, element.Value);

        string? Text(string name) => fields.GetValueOrDefault(name);
        return new WeComCallbackEvent(
            Text("MsgType"),
            Text("Event"),
            Text("ToUserName"),
            Text("FromUserName"),
            long.TryParse(Text("CreateTime"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var created) ? created : null,
            Text("AgentID"),
            Text("LivingId"),
            int.TryParse(Text("Status"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var status) ? status : null,
            fields);
    }

    /// <summary>A push body as WeCom POSTs it to the app's URL, for the simulator and tests.</summary>
    public static string Build(string toUserName, string agentId, string encrypt)
    {
        var text = new StringBuilder();
        using (var writer = XmlWriter.Create(text, new XmlWriterSettings { OmitXmlDeclaration = true }))
        {
            writer.WriteStartElement("xml");
            writer.WriteStartElement("ToUserName");
            writer.WriteCData(toUserName);
            writer.WriteEndElement();
            writer.WriteStartElement("AgentID");
            writer.WriteCData(agentId);
            writer.WriteEndElement();
            writer.WriteStartElement("Encrypt");
            writer.WriteCData(encrypt);
            writer.WriteEndElement();
            writer.WriteEndElement();
        }
        return text.ToString();
    }

    private static XElement LoadRoot(string xml, string what)
    {
        ArgumentNullException.ThrowIfNull(xml);
        if (xml.Length > MaxCharacters)
            throw Bad($"{what} is larger than {MaxCharacters} characters.");
        XDocument document;
        try
        {
            using var reader = XmlReader.Create(new StringReader(xml), new XmlReaderSettings
            {
                DtdProcessing = DtdProcessing.Prohibit,
                XmlResolver = null,
                MaxCharactersInDocument = MaxCharacters,
                MaxCharactersFromEntities = MaxCharacters,
                IgnoreComments = true,
                IgnoreProcessingInstructions = true,
            });
            document = XDocument.Load(reader);
        }
        catch (XmlException e)
        {
            // Line and position only: XmlException's own text can quote names from the (decrypted) document.
            throw Bad($"{what} is not well-formed XML, or has a DTD (line {e.LineNumber}, position {e.LinePosition}).");
        }
        if (document.Root is not { Name.LocalName: "xml", Name.NamespaceName: "" } root)
            throw Bad($"{what} is not an <xml> document.");
        return root;
    }

    private static WeComCallbackException Bad(string message) => new(WeComCallbackReason.BadXml, message);
}
