<?xml version="1.0" encoding="UTF-8"?>
<!-- gen-doc.xsl - turns protocol.xml into PROTOCOL.md, the human-readable description of
     the xenstore protocol (committed; tests/unit/test_xs_check.c fails when it is stale).
     Usage: xsltproc gen-doc.xsl protocol.xml > PROTOCOL.md -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text" encoding="UTF-8"/>

  <!-- escapes | for markdown table cells -->
  <xsl:template name="cell">
    <xsl:param name="s"/>
    <xsl:choose>
      <xsl:when test="contains($s, '|')">
        <xsl:value-of select="substring-before($s, '|')"/>
        <xsl:text>\|</xsl:text>
        <xsl:call-template name="cell">
          <xsl:with-param name="s" select="substring-after($s, '|')"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$s"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="/protocol">
    <xsl:text>&lt;!-- PROTOCOL.md - generated from xenstore-schema/protocol.xml by gen-doc.xsl; do not edit. --&gt;&#10;</xsl:text>
    <xsl:text># The xl-checkpoint xenstore protocol, version </xsl:text>
    <xsl:value-of select="@version"/><xsl:text> (a toolstack also uses guests of version </xsl:text>
    <xsl:value-of select="@oldest"/><xsl:text> and up)&#10;&#10;</xsl:text>
    <xsl:value-of select="normalize-space(summary)"/>
    <xsl:text>&#10;&#10;Paths are relative to `/local/domain/&lt;domid&gt;/`; the protocol's directory is `</xsl:text>
    <xsl:value-of select="@dir"/>
    <xsl:text>`. Grammars are POSIX extended regular expressions matched against the whole
value; `$name` stands for the named grammar below. Lengths are in bytes. A node is
mandatory `always`, when `feature` is 1 (`feature`), when `suspend-path` is `light`
(`light`), or `never`.

## Grammars

| name | max | regex | meaning |
| --- | --- | --- | --- |
</xsl:text>
    <xsl:for-each select="grammar">
      <xsl:text>| `$</xsl:text><xsl:value-of select="@name"/><xsl:text>` | </xsl:text>
      <xsl:value-of select="@max"/><xsl:text> | `</xsl:text>
      <xsl:call-template name="cell"><xsl:with-param name="s" select="@regex"/></xsl:call-template>
      <xsl:text>` | </xsl:text><xsl:value-of select="normalize-space(.)"/><xsl:text> |&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>&#10;## Nodes&#10;&#10;| path | writer | guest access | mandatory | max | grammar |&#10;| --- | --- | --- | --- | --- | --- |&#10;</xsl:text>
    <xsl:for-each select="node">
      <xsl:text>| `</xsl:text><xsl:value-of select="@path"/><xsl:text>` | </xsl:text>
      <xsl:value-of select="@writer"/><xsl:text> | </xsl:text>
      <xsl:value-of select="@guest-access"/><xsl:text> | </xsl:text>
      <xsl:value-of select="@mandatory"/><xsl:text> | </xsl:text>
      <xsl:value-of select="@max"/><xsl:text> | `</xsl:text>
      <xsl:call-template name="cell"><xsl:with-param name="s" select="@regex"/></xsl:call-template>
      <xsl:text>` |&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>&#10;</xsl:text>
    <xsl:for-each select="node">
      <xsl:text>- `</xsl:text><xsl:value-of select="@name"/><xsl:text>`: </xsl:text>
      <xsl:value-of select="normalize-space(.)"/><xsl:text>&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>&#10;Capability tokens (in `</xsl:text><xsl:value-of select="capabilities/@node"/>
    <xsl:text>`):</xsl:text>
    <xsl:for-each select="capabilities/token">
      <xsl:text> `</xsl:text><xsl:value-of select="@name"/><xsl:text>`</xsl:text>
    </xsl:for-each>
    <xsl:text>.&#10;&#10;## Requests (`</xsl:text><xsl:value-of select="requests/@node"/><xsl:text>`)&#10;&#10;</xsl:text>
    <xsl:for-each select="requests/verb">
      <xsl:text>- `</xsl:text><xsl:value-of select="@name"/><xsl:text> &lt;</xsl:text>
      <xsl:value-of select="@args"/><xsl:text>&gt;`&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>&#10;## States (`</xsl:text><xsl:value-of select="states/@node"/>
    <xsl:text>`, initially `</xsl:text><xsl:value-of select="states/@initial"/><xsl:text>`)&#10;&#10;</xsl:text>
    <xsl:for-each select="states/state">
      <xsl:text>- `</xsl:text><xsl:value-of select="@name"/>
      <xsl:for-each select="str:tokenize(@args, ' ')" xmlns:str="http://exslt.org/strings">
        <xsl:text> &lt;</xsl:text><xsl:value-of select="."/><xsl:text>&gt;</xsl:text>
      </xsl:for-each>
      <xsl:text>`: </xsl:text><xsl:value-of select="normalize-space(.)"/><xsl:text>&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>&#10;## Transitions&#10;&#10;| from | on | to | meaning |&#10;| --- | --- | --- | --- |&#10;</xsl:text>
    <xsl:for-each select="transitions/transition">
      <xsl:text>| </xsl:text><xsl:value-of select="@from"/><xsl:text> | </xsl:text>
      <xsl:value-of select="@on"/><xsl:text> | </xsl:text><xsl:value-of select="@to"/>
      <xsl:text> | </xsl:text><xsl:value-of select="normalize-space(.)"/><xsl:text> |&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>&#10;## Consistency of a snapshot of the subtree&#10;&#10;The validator (`xl-checkpoint xs-check`) accepts only these (request, state) pairs;
`none`: no request node, `invalid`: a request that does not match its grammar.

| request | state | id |
| --- | --- | --- |
</xsl:text>
    <xsl:for-each select="consistency/allow">
      <xsl:text>| </xsl:text><xsl:value-of select="@request"/><xsl:text> | </xsl:text>
      <xsl:value-of select="@state"/><xsl:text> | </xsl:text>
      <xsl:choose>
        <xsl:when test="@id = 'same'">same as the request's</xsl:when>
        <xsl:otherwise>any</xsl:otherwise>
      </xsl:choose>
      <xsl:text> |&#10;</xsl:text>
    </xsl:for-each>
  </xsl:template>
</xsl:stylesheet>
